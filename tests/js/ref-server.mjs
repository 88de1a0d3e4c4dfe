// The reference for the benchmarks: the usual automerge-repo sync server, as in
// automerge-repo-sync-server (a Repo with the Node websocket server adapter and
// file-system storage, sharing nothing unasked), built from the npm packages.
//
//   node ref-server.mjs <port> <storage dir>
//
// Prints "listening <port>" once it accepts connections.
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
