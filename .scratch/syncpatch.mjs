import * as A from '@automerge/automerge'
import { Repo } from '@automerge/automerge-repo'
import { MessageChannelNetworkAdapter } from '@automerge/automerge-repo-network-messagechannel'
import { reuseSyncPatches } from '@clinic-mesh/store'
const on = process.argv[2] === 'on'
if (on) console.error('hook', reuseSyncPatches())
const { port1, port2 } = new MessageChannel()
const ra = new Repo({ network: [new MessageChannelNetworkAdapter(port1)], peerId: 'a' })
const rb = new Repo({ network: [new MessageChannelNetworkAdapter(port2)], peerId: 'b' })
const docs = []
for (let b = 0; b < 12; b++) {
  const h = ra.create({ charts: {} })
  for (let k = 0; k < 4; k++) h.change((d) => {
    for (let i = 0; i < 40; i++) {
      const id = `p${b}-${k}-${i}`
      d.charts[id] = { given: `G${i}`, family: `F${k}`, sex: 'female', birth: '1990-01-01', phone: '0999', village: 'V',
        allergies: ['penicillin'], conditions: ['I10'], visits: [{ reason: 'fever', vitals: { t: 38.2, hr: 90, bp: '120/80', rr: 18, spo2: 97 }, notes: 'x'.repeat(80), rx: [{ item: 'amox', dose: '500 mg', freq: 'tds', days: 5 }] }] }
    }
  })
  docs.push(h.url)
}
global.gc?.()
const heap0 = process.memoryUsage().heapUsed
const t0 = performance.now()
let peak = 0
const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().heapUsed) }, 5)
for (const u of docs) await rb.find(u)
clearInterval(timer)
const ms = performance.now() - t0
console.log(JSON.stringify({ on, ms: Math.round(ms), peakMB: Math.round((peak - heap0) / 1e6) }))
process.exit(0)
