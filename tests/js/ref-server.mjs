// The reference for the benchmarks: the usual automerge-repo sync server, as in
// automerge-repo-sync-server (a Repo with the Node websocket server adapter and
// file-system storage, sharing nothing unasked), built from the npm packages.
//
//   node [--expose-gc] ref-server.mjs <port> <storage dir>
//
// Prints "listening <port>" once it accepts connections. Started with
// --expose-gc (as sync-bench does), each line "memory" on standard input makes
// it collect garbage fully and answer "memory <heapUsed+external> <rss>" on
// standard output: the live memory the idle benchmark compares.
import { WebSocketServer } from "ws"
import { Repo } from "@automerge/automerge-repo"
import { NodeWSServerAdapter } from "@automerge/automerge-repo-network-websocket"
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs"

const [port, dir] = process.argv.slice(2)
if (!port || !dir) {
  console.error("usage: node ref-server.mjs <port> <storage dir>")
  process.exit(2)
}

const wss = new WebSocketServer({ host: "127.0.0.1", port: Number(port) })
new Repo({
  network: [new NodeWSServerAdapter(wss)],
  storage: new NodeFSStorageAdapter(dir),
  peerId: "reference-sync-server",
  // The sync server's choice: answer requests, announce nothing.
  sharePolicy: async () => false,
})
wss.on("listening", () => console.log(`listening ${port}`))

if (typeof globalThis.gc === "function") {
  const { createInterface } = await import("node:readline")
  createInterface({ input: process.stdin }).on("line", (line) => {
    if (line.trim() !== "memory") return
    globalThis.gc()
    const m = process.memoryUsage()
    console.log(`memory ${m.heapUsed + m.external} ${m.rss}`)
  })
}

// For looking into the idle-memory figure (BENCHMARKS.md), not used by the
// benchmark itself: with REF_SERVER_GC=1 the server collects garbage at the
// cadence our server returns freed memory (3 s after its connections change)
// and prints its memory use to stderr, so a reading can be told apart from
// garbage V8 has not yet collected.
if (process.env.REF_SERVER_GC === "1") {
  const { default: v8 } = await import("node:v8")
  const { default: vm } = await import("node:vm")
  v8.setFlagsFromString("--expose-gc")
  const gc = vm.runInNewContext("gc")
  let last = 0
  setInterval(() => {
    const now = wss.clients.size
    if (now !== last) {
      gc()
      const m = process.memoryUsage()
      console.error(
        `reference memory after a full collection: clients=${now} rss=${m.rss} heapUsed=${m.heapUsed} external=${m.external}`,
      )
    }
    last = now
  }, 3000).unref()
}
