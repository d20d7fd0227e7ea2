import { afterEach, expect, it } from 'vitest'
import { LinkProxy, eventually } from '@clinic-mesh/testing'
import type { DocumentId, Message, PeerId } from '@automerge/automerge-repo'
import type { MeshNode } from '@clinic-mesh/mesh'
import { makeClinic, makeDevice, startNode, syncedWith } from './clinic.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn()
})

/**
 * LinkWatch at a tenth of its defaults: probe after 1 s quiet, 1 s to answer, dead after 2 s (idle) or 12 s (busy:
 * 16 KiB sent since the device was last heard from).
 */
const FAST = {
  quietMs: 1_000,
  probeTimeoutMs: 1_000,
  idleDeadMs: 2_000,
  busyDeadMs: 12_000,
  busyBytes: 16 * 1024,
  checkEveryMs: 100,
}

/**
 * Two devices, the first connection through `proxy` (b dials a at the proxy; a cannot dial b: b listens nowhere).
 * Redials (after `redialMs`) may go straight to a (b learned its address by identify).
 */
async function throughProxy(
  redialMs = 60_000, // by default no redial within a test: the drop is what is measured
): Promise<{ a: MeshNode; b: MeshNode; proxy: LinkProxy }> {
  const c = makeClinic()
  const [dA, dB] = await Promise.all([makeDevice(c, 'Source'), makeDevice(c, 'Tablet')])
  const backoff = { initialMs: redialMs, maxMs: redialMs }
  const a = await startNode(c, dA, [dA, dB], { linkWatch: FAST, backoff })
  const port = Number(/\/tcp\/(\d+)/.exec(a.multiaddrs()[0] ?? '')?.[1])
  const proxy = await LinkProxy.start({ target: { host: '127.0.0.1', port } })
  const b = await startNode(c, dB, [dA, dB], {
    linkWatch: FAST,
    bootstrap: [`/ip4/127.0.0.1/tcp/${proxy.port}/p2p/${a.peerId}`],
    backoff,
    listen: [], // the source cannot dial the tablet: the tablet dials (at first through the proxy)
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
  await eventually(() => a.linkWatch.answered >= 3 && b.linkWatch.answered >= 3, {
    timeoutMs: 20_000,
    what: 'three probes answered each way',
  })
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
  let sent = 0
  // ~30 KiB/s, a steady trickle as a join on a slow link: within yamux's first stream window (256 KiB), whose updates
  // could not come back past the stall
  const sending = setInterval(() => {
    const data = new Uint8Array(3 * 1024).fill(sent % 251)
    new DataView(data.buffer).setUint32(0, sent++)
    a.adapter.send({
      type: 'sync',
      senderId: 'source' as PeerId,
      targetId: 'tablet' as PeerId,
      documentId: 'bulk' as DocumentId,
      data,
    })
  }, 100)
  try {
    // the source hears nothing, its probes fail: an idle link would be dropped once silent for idleDeadMs; wait
    // until it has been silent for twice that
    await eventually(
      () => {
        const st = a.linkWatch.status(b.peerId)
        const dropped = a.libp2p.getConnections().length === 0 // (wrongly): the checks below say so
        return dropped || (st !== undefined && st.probeFailed && st.silentMs >= 2 * FAST.idleDeadMs)
      },
      { timeoutMs: 20_000, pollMs: 50, what: 'the source silent past idleDeadMs with a failed probe' },
    )
  } finally {
    clearInterval(sending)
  }
  // it was sending: busyDeadMs applies, and the link is kept
  expect(a.linkWatch.status(b.peerId)?.sentSinceHeard).toBeGreaterThanOrEqual(FAST.busyBytes)
  expect(a.libp2p.getConnections()).toHaveLength(1)
  expect(a.linkWatch.closed + b.linkWatch.closed).toBe(0)
  // and the tablet, hearing the data, kept it too: every byte arrives
  await eventually(() => received === sent * 3 * 1024, { what: 'every byte sent arrived at the tablet' })
  proxy.restore()
}, 30_000)

it('a link that dies silently under our data: the device that drops it and dials again replaces it at once, not after busyDeadMs', async () => {
  const { a, b, proxy } = await throughProxy(200)
  const sending = setInterval(() => {
    a.adapter.send({
      type: 'sync',
      senderId: 'source' as PeerId,
      targetId: 'tablet' as PeerId,
      documentId: 'bulk' as DocumentId,
      data: new Uint8Array(32 * 1024).map(() => Math.floor(Math.random() * 256)),
    })
  }, 100)
  try {
    await eventually(() => a.adapter.sendQueues()[0]?.queuedBytes !== undefined, { what: 'a session' })
    proxy.freeze() // the old path goes away: no data, no reset reaches either end
    const t0 = performance.now()
    // the tablet hears nothing and is not sending: it drops the link after ~idleDeadMs and dials again; the
    // source, busy sending, would keep its dead connection until busyDeadMs (two connections meanwhile), but the
    // new one from the same device after a silence replaces it
    await eventually(
      () =>
        a.libp2p.getConnections().length === 1 &&
        b.linkWatch.closed === 1 &&
        a.peers().length === 1 &&
        b.peers().length === 1,
      { timeoutMs: FAST.busyDeadMs, pollMs: 50, what: 'one live connection and session again' },
    )
    const ms = performance.now() - t0
    expect(ms).toBeLessThan(FAST.busyDeadMs - 4_000)
    expect(a.linkWatch.closed).toBeGreaterThanOrEqual(1) // the source closed its old connection itself
  } finally {
    clearInterval(sending)
  }
}, 30_000)
