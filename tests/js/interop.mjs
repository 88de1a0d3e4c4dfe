// Drives the real JS automerge-repo client against a Fieldbook server.
//
//   node interop.mjs create <base> <user> <password> <customer name>
//       logs in, creates a customer document, waits until the server lists it,
//       prints {"url": ...}
//   node interop.mjs read <base> <user> <password> <url> <min visits>
//       logs in, opens the document, waits for at least <min visits> visits,
//       prints the document as JSON
//
// Exits non-zero with a message on stderr when anything fails or times out.
import { Repo } from "@automerge/automerge-repo"
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket"

const [mode, base, username, password, arg, extra] = process.argv.slice(2)
const deadline = Date.now() + 30_000

function fail(msg) {
  console.error(`interop: ${msg}`)
  process.exit(1)
}

async function login() {
  const res = await fetch(`${base}/api/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password }),
  })
  if (!res.ok) fail(`login failed: ${res.status} ${await res.text()}`)
  return res.json()
}

async function until(what, check) {
  while (Date.now() < deadline) {
    const v = await check()
    if (v) return v
    await new Promise(r => setTimeout(r, 100))
  }
  fail(`timed out waiting for ${what}`)
}

const session = await login()
const wsUrl = base.replace(/^http/, "ws") + `/sync?token=${session.token}`
const repo = new Repo({
  network: [new WebSocketClientAdapter(wsUrl, 500)],
  peerId: session.peer_id,
})

if (mode === "create") {
  const handle = repo.create({
    type: "customer",
    schema: 1,
    name: arg,
    credit_code: "91310000MA1FL0JS0X",
    nature: "enterprise",
    lines: ["delivery", "letter"],
    contacts: [{ id: "js-c1", name: "赵经理", role: "handler", phone: "13900000000", birthday: "" }],
    visits: [],
    ledger: [{ month: "2026-10", line: "delivery", amount_fen: 1234500 }],
  })
  await until("the server to register the customer", async () => {
    const res = await fetch(`${base}/api/customers`, { headers: { authorization: `Bearer ${session.token}` } })
    const list = await res.json()
    return list.find(c => c.url === handle.url)
  })
  console.log(JSON.stringify({ url: handle.url }))
} else if (mode === "read") {
  const want = Number(extra ?? 0)
  const handle = await repo.find(arg)
  const doc = await until(`${want} visit(s) in ${arg}`, async () => {
    const d = handle.doc()
    return d && (d.visits ?? []).length >= want ? d : null
  })
  console.log(JSON.stringify(doc))
} else {
  fail(`unknown mode ${mode}`)
}
await repo.shutdown?.()
process.exit(0)
