import { afterEach, expect, it } from 'vitest'
import { LinkProxy, eventually } from '@clinic-mesh/testing'
import type { DocumentId, Message, PeerId } from '@automerge/automerge-repo'
import type { MeshNode } from '@clinic-mesh/mesh'
import { makeClinic, makeDevice, startNode, syncedWith } from './clinic.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn()
})

/** LinkWatch at a tenth of its defaults: probe after 1 s quiet, 1 s to answer, dead after 2 s (idle) or 12 s (busy). */
const FAST = {
  quietMs: 1_000,
  probeTimeoutMs: 1_000,
  idleDeadMs: 2_000,
  busyDeadMs: 12_000,
  checkEveryMs: 100,
}

/** Two devices whose only connection goes through `proxy` (b dials a at the proxy; a cannot dial b: no address). */
async function throughProxy(): Promise<{ a: MeshNode; b: MeshNode; proxy: LinkProxy }> {
  const c = makeClinic()
  const [dA, dB] = await Promise.all([makeDevice(c, 'Source'), makeDevice(c, 'Tablet')])
  const a = await startNode(c, dA, [dA, dB], { linkWatch: FAST })
  const port = Number(/\/tcp\/(\d+)/.exec(a.multiaddrs()[0] ?? '')?.[1])
  const proxy = await LinkProxy.start({ target: { host: '127.0.0.1', port } })
  const b = await startNode(c, dB, [dA, dB], {
    linkWatch: FAST,
    bootstrap: [`/ip4/127.0.0.1/tcp/${proxy.port}/p2p/${a.peerId}`],
    backoff: { initialMs: 60_000, maxMs: 60_000 }, // no redial within the test: the drop is what is measured
  })
  cleanups.push(async () => {
    await Promise.all([a.stop(), b.stop()])
    await proxy.close()
  })
  a.adapter.connect('source' as PeerId, {})
  b.adapter.connect('tablet' as PeerId, {})
  await Promise.all([syncedWith(a, [b.peerId]), syncedWith(b, [a.peerId])])
  return { a, b, proxy }
}

it('an idle link stays up while its probes are answered, and a link that goes silent is dropped within about idleDeadMs', async () => {
  const { a, b, proxy } = await throughProxy()
  // idle for several quiet periods: probes go out and come back, nothing is dropped
  await new Promise((r) => setTimeout(r, 3 * FAST.idleDeadMs)) // idle time is what is tested: nothing to await
  expect(a.libp2p.getConnections()).toHaveLength(1)
  expect(a.linkWatch.closed + b.linkWatch.closed).toBe(0)
  // the link goes silent without a reset: both ends notice by themselves
  proxy.stall()
  const t1 = performance.now()
  await eventually(() => a.libp2p.getConnections().length === 0 && b.libp2p.getConnections().length === 0, {
    timeoutMs: 10_000,
    pollMs: 50,
    what: 'both ends dropped the silent link',
  })
  const ms = performance.now() - t1
  expect(ms).toBeLessThan(FAST.idleDeadMs + FAST.quietMs + 3_000) // a loaded box: generous, but far from busyDeadMs
  expect(a.linkWatch.closed + b.linkWatch.closed).toBeGreaterThanOrEqual(1)
}, 30_000)

it('a link busy with our data is not dropped while the device says nothing back (its answers queue behind it on a slow link)', async () => {
  const { a, b, proxy } = await throughProxy()
  proxy.stall('up') // nothing from the tablet reaches the source; the source's data still reaches the tablet
  let received = 0
  b.adapter.on('message', (m: Message) => (received += m.data?.byteLength ?? 0))
  const t0 = performance.now()
  let i = 0
  while (performance.now() - t0 < 2 * FAST.idleDeadMs + FAST.quietMs) {
    const data = new Uint8Array(32 * 1024).fill(i % 251)
    new DataView(data.buffer).setUint32(0, i++)
    a.adapter.send({
      type: 'sync',
      senderId: 'source' as PeerId,
      targetId: 'tablet' as PeerId,
      documentId: 'bulk' as DocumentId,
      data,
    })
    await new Promise((r) => setTimeout(r, 100)) // a steady trickle, as a join on a slow link
  }
  // the source heard nothing for > idleDeadMs and its probes failed, but it was sending: busyDeadMs applies
  expect(a.libp2p.getConnections()).toHaveLength(1)
  expect(a.linkWatch.closed).toBe(0)
  expect(received).toBeGreaterThan(0)
  proxy.restore()
}, 30_000)
