import { afterEach, expect, it } from 'vitest'
import type { DocumentId, Message, PeerId } from '@automerge/automerge-repo'
import type { MeshNode } from '@clinic-mesh/mesh'
import { eventually, nextEvent } from '@clinic-mesh/testing'
import { makeClinic, makeDevice, startNode } from './clinic.js'

const nodes: MeshNode[] = []
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()))
})

// Regression (from @libp2p/pnet days, kept for the private network and the 4 MiB window): pnet's xsalsa20 WASM
// memory grew on every large write until it hit its cap and aborted the connection after ~50 MB of bulk traffic.
it('moves 96 MB of sync messages through the private network without losing the connection', async () => {
  const c = makeClinic()
  const [d1, d2] = await Promise.all([makeDevice(c, 'Sender'), makeDevice(c, 'Receiver')])
  // all 96 MB are handed to the adapter at once (no Repo behind it to resync): the send queue must hold them
  const a = await startNode(c, d1, [d1, d2], { maxQueueBytes: 128 * 1024 * 1024 })
  const b = await startNode(c, d2, [d1, d2], { bootstrap: a.multiaddrs() })
  nodes.push(a, b)
  const linked = Promise.all([nextEvent(a.adapter, 'peer-candidate'), nextEvent(b.adapter, 'peer-candidate')])
  a.adapter.connect('a' as PeerId, {})
  b.adapter.connect('b' as PeerId, {})
  await linked
  let received = 0
  b.adapter.on('message', (m: Message) => (received += m.data?.byteLength ?? 0))
  const total = 96 * 1024 * 1024
  for (let sent = 0; sent < total; sent += 512 * 1024) {
    // each message different (a session does not queue the very same large message twice: sync.md §7)
    const data = new Uint8Array(512 * 1024).fill(3)
    new DataView(data.buffer).setUint32(0, sent)
    a.adapter.send({
      type: 'sync',
      senderId: 'a' as PeerId,
      targetId: 'b' as PeerId,
      documentId: 'bulk' as DocumentId,
      data,
    })
  }
  await eventually(() => received >= total, { timeoutMs: 15_000, what: 'all bytes received' })
  expect(a.peers().map((p) => p.id)).toEqual([d2.id])
  expect(a.adapter.sendQueues()[0]?.dropped).toBe(0)
})
