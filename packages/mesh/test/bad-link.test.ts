import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import type { Libp2p, Stream } from '@libp2p/interface'
import { afterEach, expect, it } from 'vitest'
import * as A from '@automerge/automerge'
import type { DocHandle, PeerId, Repo } from '@automerge/automerge-repo'
import {
  chunkPayload,
  clinicNetworkKey,
  clinicPrivateNetwork,
  encodeFrame,
  encodeWire,
  SYNC_PROTOCOL,
  WIRE_VERSION,
} from '@clinic-mesh/mesh'
import type { MeshNode, StreamErrorEvent } from '@clinic-mesh/mesh'
import { eventually, nextEvent } from '@clinic-mesh/testing'
import { findShared, makeClinic, makeDevice, repoOn, startNode, syncedWith } from './clinic.js'
import type { TestClinic, TestDevice } from './clinic.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn()
})

const CAP = 64 * 1024

/** Deterministic filler that Automerge cannot compress much (xorshift). */
function noise32(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n)
  let x = seed | 1
  for (let i = 0; i < n; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

async function pair(
  extra: Parameters<typeof startNode>[3] = {},
): Promise<{ a: MeshNode; b: MeshNode; ra: Repo; rb: Repo; dA: TestDevice; dB: TestDevice }> {
  const c = makeClinic()
  const [dA, dB] = await Promise.all([makeDevice(c, 'Writer'), makeDevice(c, 'Reader')])
  const a = await startNode(c, dA, [dA, dB], extra)
  const b = await startNode(c, dB, [dA, dB], { ...extra, bootstrap: a.multiaddrs() })
  const ra = repoOn(a, 'writer')
  const rb = repoOn(b, 'reader')
  cleanups.push(async () => {
    await Promise.all([ra.shutdown(), rb.shutdown()])
    await Promise.all([a.stop(), b.stop()])
  })
  await Promise.all([syncedWith(a, [dB.id]), syncedWith(b, [dA.id])])
  return { a, b, ra, rb, dA, dB }
}

function errorsOf(node: MeshNode): string[] {
  const names: string[] = []
  node.on('stream-error', (e) => names.push(e.error.name))
  return names
}

it('a document whose sync message is several times the frame cap arrives in chunks, on the same stream', async () => {
  const { a, b, ra, rb } = await pair({ maxFrameBytes: CAP })
  const errors = [...errorsOf(a), ...errorsOf(b)]
  const sessionsBefore = a.adapter.sendQueues().map((q) => q.remote)
  const blob = noise32(6 * CAP, 7)
  const doc = ra.create<{ blob: Uint8Array }>({ blob })
  const mirror = await findShared<{ blob: Uint8Array }>(rb, doc.url)
  expect(mirror.doc().blob).toEqual(blob)
  // it went as one message over the cap (queued whole, as chunk frames), and nothing was reset
  expect(a.adapter.sendQueues()[0]!.peakQueuedBytes).toBeGreaterThan(5 * CAP)
  expect(errors).toEqual([])
  expect(a.adapter.sendQueues().map((q) => q.remote)).toEqual(sessionsBefore)
  expect(b.peers()).toHaveLength(1)
})

/** An enrolled device speaking raw frames: handshake, then whatever the case sends. */
async function rawPeer(c: TestClinic, d: TestDevice): Promise<Libp2p> {
  const node = await createLibp2p({
    privateKey: d.key,
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionProtector: clinicPrivateNetwork(clinicNetworkKey(c.secret)),
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
  })
  cleanups.push(async () => {
    await node.stop()
  })
  return node
}

it('a chunk stream that is oversized in total, interrupted by another frame or cut short gets a named reset and frees what it held', async () => {
  const c = makeClinic()
  const [dS, dBad] = await Promise.all([makeDevice(c, 'Server'), makeDevice(c, 'Buggy')])
  const server = await startNode(c, dS, [dS, dBad], { maxFrameBytes: CAP, maxMessageBytes: 4 * CAP })
  const repo = repoOn(server, 'server')
  cleanups.push(async () => {
    await repo.shutdown()
    await server.stop()
  })
  server.log = () => undefined
  const bad = await rawPeer(c, dBad)
  const hello = encodeFrame(
    encodeWire({
      kind: 'handshake',
      handshake: {
        v: WIRE_VERSION,
        peerId: 'buggy' as PeerId,
        peerMetadata: {},
        deviceName: 'Buggy',
        minor: 1,
      },
    }),
  )
  const message = (bytes: number): Uint8Array =>
    encodeWire({
      kind: 'message',
      message: {
        type: 'sync',
        senderId: 'buggy' as PeerId,
        targetId: 'server' as PeerId,
        documentId: 'x' as never,
        data: noise32(bytes, 3),
      },
    })
  const chunks = (bytes: number): Uint8Array[] => chunkPayload(message(bytes), CAP).map((p) => encodeFrame(p))
  const open = async (): Promise<Stream> => {
    const stream = await bad.dialProtocol(multiaddr(server.multiaddrs()[0]), SYNC_PROTOCOL)
    stream.addEventListener('message', () => {})
    stream.send(hello)
    return stream
  }
  const cases: Array<[string, Uint8Array[]]> = [
    ['MessageTooLargeError', chunks(5 * CAP).slice(0, 1)], // announces 5 × 64 KiB > 256 KiB
    ['MalformedFrameError', [...chunks(3 * CAP).slice(0, 2), hello]], // a frame inside a chunked message
    ['MalformedFrameError', [...chunks(3 * CAP).slice(0, 2), ...chunks(2 * CAP)]], // another total mid-message
  ]
  for (const [name, frames] of cases) {
    const reset = nextEvent<StreamErrorEvent>(server, 'stream-error', 5000)
    const stream = await open()
    for (const f of frames) stream.send(f)
    const evt = await reset
    expect(evt.error.name).toBe(name)
    await eventually(() => server.adapter.sessions().length === 0, { what: 'the session is gone' })
  }
  // cut short: two of four chunks, then the stream ends: no reset error, the session (and its pieces) are gone
  const stream = await open()
  await eventually(() => server.adapter.sessions().some((s) => s.handshake !== undefined), {
    what: 'handshake seen',
  })
  for (const f of chunks(3 * CAP).slice(0, 2)) stream.send(f)
  await stream.close()
  await eventually(() => server.adapter.sessions().length === 0, { what: 'the cut-short session is gone' })
  // a well-formed chunked message is delivered to the repo (it is for an unknown document: the repo answers)
  const ok = await open()
  for (const f of chunks(3 * CAP)) ok.send(f)
  await eventually(() => server.adapter.sessions().some((s) => s.handshake !== undefined), {
    what: 'a good chunked message keeps the session',
  })
})

/** The sync stream `node` holds with its one peer (to pause reading it, as a peer on a stalled link). */
function syncStream(node: MeshNode): Stream {
  const s = node.libp2p
    .getConnections()
    .flatMap((c) => c.streams)
    .find((st) => st.protocol === SYNC_PROTOCOL)
  if (s === undefined) throw new Error('no sync stream')
  return s
}

it('a peer that stops reading: the send queue stays under its bound while the writer keeps changing documents, and the documents converge once it reads again', async () => {
  const BOUND = 256 * 1024
  const { a, b, ra, rb } = await pair({ maxQueueBytes: BOUND })
  const errors = [...errorsOf(a), ...errorsOf(b)]
  type Notes = { notes: Uint8Array[] }
  const docs: DocHandle<Notes>[] = []
  for (let i = 0; i < 8; i++) docs.push(ra.create<Notes>({ notes: [] }))
  const mirrors = await Promise.all(docs.map((d) => findShared<Notes>(rb, d.url)))
  syncStream(b).pause() // the reader's link stalls: yamux stops granting window, the writer's stream fills up
  let peak = 0
  const sample = (): void => {
    for (const q of a.adapter.sendQueues()) peak = Math.max(peak, q.queuedBytes)
  }
  // more than the yamux window the reader granted before it stalled (up to 4 MiB) plus several times the bound
  const NOTE = 16 * 1024
  let written = 0
  for (let round = 0; round < 480; round++) {
    const d = docs[round % docs.length]!
    d.change((x) => x.notes.push(noise32(NOTE, round + 11)))
    written += NOTE
    sample()
    await new Promise<void>((r) => setImmediate(r)) // let the repo send
  }
  await eventually(
    () => {
      sample()
      return a.adapter.sendQueues()[0]!.overflows > 0
    },
    { what: 'the queue went over its bound', timeoutMs: 10_000 },
  )
  const stats = a.adapter.sendQueues()[0]!
  expect(written).toBeGreaterThan(4 * 1024 * 1024 + 8 * BOUND) // the writer wrote far more than window + bound…
  // …the queue held at most the bound, or one message when a single one is bigger (the repo folds the changes of its
  // 100 ms sync throttle into one message: on a loaded box one can pass the bound), never what the writer wrote
  expect(stats.peakQueuedBytes).toBeLessThanOrEqual(Math.max(BOUND, stats.largestMessage))
  expect(peak).toBeLessThanOrEqual(Math.max(BOUND, stats.largestMessage))
  expect(stats.peakQueuedBytes).toBeLessThan(written / 4)
  expect(stats.dropped).toBeGreaterThan(0)
  syncStream(b).resume()
  await eventually(() => docs.every((d, i) => A.equals(A.getHeads(d.doc()), A.getHeads(mirrors[i]!.doc()))), {
    what: 'every document converged after the reader resumed',
    timeoutMs: 60_000,
    pollMs: 100,
  })
  expect(mirrors.map((m) => m.doc().notes.length)).toEqual(docs.map((d) => d.doc().notes.length))
  expect(errors).toEqual([]) // bounded without a reset
})
