/**
 * Mesh sync throughput against raw libp2p streams on the same machine, in one run.
 * Run: npx tsc -b packages/mesh && node apps/bench/src/mesh-bench.ts   (Node ≥ 24 strips the types)
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { preSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { Repo } from '@automerge/automerge-repo'
import type { DocumentId, Message, PeerId } from '@automerge/automerge-repo'
import {
  clinicNetworkKey,
  clinicPrivateNetwork,
  createMeshNode,
  generateAdminKey,
  Membership,
  signEnrolment,
} from '@clinic-mesh/mesh'
import type { MeshNode } from '@clinic-mesh/mesh'

/** One line of the bench table (declared here so this file stands alone). */
export interface BenchRow {
  metric: string
  ours: number
  baseline: number | null
  unit: string
  goal: string
  ok: boolean
  note?: string
}

const MB = 1024 * 1024
const RAW_PROTOCOL = '/clinic-mesh/bench-raw/1.0.0'

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[s.length >> 1]!
}

/** @libp2p/pnet aborts bulk transfers with yamux's default window (its xsalsa20 WASM memory runs out). */
const PNET_WINDOW = 512 * 1024
const KEY = new Uint8Array(32).fill(1)

/** What wraps the TCP connection under noise: nothing, @libp2p/pnet, or the mesh's private network. */
type Protector = 'none' | 'pnet' | 'clinic'

/** @libp2p/pnet's key file format for a raw 32-byte key. */
function pnetKeyFile(key: Uint8Array): Uint8Array {
  return new TextEncoder().encode(`/key/swarm/psk/1.0.0/\n/base16/\n${Buffer.from(key).toString('hex')}`)
}

async function rawNode(protector: Protector): Promise<Libp2p> {
  const protect = {
    none: {},
    pnet: { connectionProtector: preSharedKey({ psk: pnetKeyFile(KEY) }) },
    clinic: { connectionProtector: clinicPrivateNetwork(clinicNetworkKey(KEY)) },
  }[protector]
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    ...protect,
    connectionEncrypters: [noise()],
    streamMuxers: [
      yamux(protector === 'pnet' ? { streamOptions: { maxStreamWindowSize: PNET_WINDOW } } : {}),
    ],
  })
}

/** MB/s of one raw noise+yamux stream (optionally inside a private network), 64 KiB writes with backpressure. */
async function rawThroughput(totalBytes: number, protector: Protector): Promise<number> {
  const [a, b] = await Promise.all([rawNode(protector), rawNode(protector)])
  try {
    let received = 0
    let done: () => void = () => {}
    const all = new Promise<void>((resolve) => (done = resolve))
    await b.handle(RAW_PROTOCOL, (stream) => {
      stream.addEventListener('message', (evt) => {
        received += evt.data.byteLength
        if (received >= totalBytes) done()
      })
    })
    const stream = await a.dialProtocol(b.getMultiaddrs()[0]!, RAW_PROTOCOL)
    const chunk = new Uint8Array(64 * 1024).fill(7)
    const t0 = performance.now()
    for (let sent = 0; sent < totalBytes; sent += chunk.byteLength) {
      if (!stream.send(chunk)) await stream.onDrain()
    }
    await all
    return totalBytes / MB / ((performance.now() - t0) / 1000)
  } finally {
    await Promise.all([a.stop(), b.stop()])
  }
}

interface MeshPair {
  a: MeshNode
  b: MeshNode
  stop: () => Promise<void>
}

async function meshPair(): Promise<MeshPair> {
  const admin = generateAdminKey()
  const clinicSecret = crypto.getRandomValues(new Uint8Array(32))
  const keys: PrivateKey[] = await Promise.all([generateKeyPair('Ed25519'), generateKeyPair('Ed25519')])
  const enrolments = keys.map((k, i) =>
    signEnrolment(
      { clinic: 'bench', devicePeerId: peerIdFromPrivateKey(k).toString(), deviceName: `bench-${i}` },
      admin.secretKey,
    ),
  )
  const start = (i: number, bootstrap: string[]): Promise<MeshNode> =>
    createMeshNode({
      deviceName: `bench-${i}`,
      privateKey: keys[i]!,
      clinicSecret,
      membership: new Membership({ clinic: 'bench', adminPublicKeys: [admin.publicKey], enrolments }),
      listen: ['/ip4/127.0.0.1/tcp/0'],
      mdns: { enabled: false },
      bootstrap,
      readyAfterMs: 10,
    })
  const a = await start(0, [])
  const b = await start(1, a.multiaddrs())
  return { a, b, stop: () => Promise.all([a.stop(), b.stop()]).then(() => undefined) }
}

/** MB/s of automerge-repo sync messages through the mesh adapter (CBOR + frames + private network + noise + yamux). */
async function meshThroughput(totalBytes: number, messageBytes: number): Promise<number> {
  const { a, b, stop } = await meshPair()
  try {
    const linked = Promise.all([
      new Promise<void>((r) => a.adapter.once('peer-candidate', () => r())),
      new Promise<void>((r) => b.adapter.once('peer-candidate', () => r())),
    ])
    a.adapter.connect('a' as PeerId, {})
    b.adapter.connect('b' as PeerId, {})
    await linked
    let received = 0
    const all = new Promise<void>((resolve) =>
      b.adapter.on('message', (m: Message) => {
        received += m.data?.byteLength ?? 0
        if (received >= totalBytes) resolve()
      }),
    )
    const data = new Uint8Array(messageBytes).fill(9)
    const t0 = performance.now()
    for (let sent = 0; sent < totalBytes; sent += messageBytes) {
      a.adapter.send({
        type: 'sync',
        senderId: 'a' as PeerId,
        targetId: 'b' as PeerId,
        documentId: 'bench' as DocumentId,
        data,
      })
    }
    await all
    return totalBytes / MB / ((performance.now() - t0) / 1000)
  } finally {
    await stop()
  }
}

/** Seconds to fetch a large Automerge document over the mesh (automerge work included). */
async function meshDocFetch(notes: number, noteBytes: number): Promise<{ seconds: number; bytes: number }> {
  const { a, b, stop } = await meshPair()
  const ra = new Repo({
    network: [a.adapter],
    peerId: 'a' as PeerId,
    sharePolicy: () => Promise.resolve(true),
  })
  const rb = new Repo({
    network: [b.adapter],
    peerId: 'b' as PeerId,
    sharePolicy: () => Promise.resolve(true),
  })
  try {
    let seed = 42
    const blob = (): Uint8Array => {
      const out = new Uint8Array(noteBytes)
      for (let i = 0; i < out.length; i++)
        out[i] = (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) >>> 24
      return out
    }
    // attachments as byte values: measures moving a chart, not Automerge's per-character text CRDT
    const handle = ra.create<{ notes: Uint8Array[] }>({ notes: [] })
    for (let i = 0; i < notes; i++) handle.change((d) => void d.notes.push(blob()))
    const bytes = (await ra.export(handle.documentId))?.byteLength ?? 0
    await new Promise<void>((r) => (rb.peers.length > 0 ? r() : rb.networkSubsystem.once('peer', () => r())))
    const t0 = performance.now()
    const got = await rb.find<{ notes: Uint8Array[] }>(handle.url)
    if (got.doc().notes.length !== notes) throw new Error('incomplete fetch')
    return { seconds: (performance.now() - t0) / 1000, bytes }
  } finally {
    await Promise.all([ra.shutdown(), rb.shutdown()])
    await stop()
  }
}

export async function benchMesh(opts: { totalMB?: number; runs?: number } = {}): Promise<BenchRow[]> {
  const total = (opts.totalMB ?? 64) * MB
  const runs = opts.runs ?? 3
  const raw: number[] = []
  const rawPnet: number[] = []
  const rawClinic: number[] = []
  const ours: number[] = []
  for (let i = 0; i < runs; i++) {
    raw.push(await rawThroughput(total, 'none'))
    rawPnet.push(await rawThroughput(total, 'pnet'))
    rawClinic.push(await rawThroughput(total, 'clinic'))
    ours.push(await meshThroughput(total, 256 * 1024))
  }
  const [r, rp, rc, o] = [median(raw), median(rawPnet), median(rawClinic), median(ours)]
  const doc = await meshDocFetch(200, 50_000)
  const pct = (x: number): string => `${((100 * x) / r).toFixed(0)} %`
  return [
    {
      metric: 'P7 mesh bulk sync vs raw noise+yamux stream',
      ours: o,
      baseline: r,
      unit: 'MB/s',
      goal: '≥ 50 % of baseline',
      ok: o >= 0.5 * r,
      note: `median of ${runs}, ${total / MB} MB in 256 KiB sync messages, ours inside the clinic private network, the baseline without any (${pct(o)})`,
    },
    {
      metric: 'raw noise+yamux inside the clinic private network (ChaCha20)',
      ours: rc,
      baseline: r,
      unit: 'MB/s',
      goal: 'info',
      ok: true,
      note: `${pct(rc)} of the unprotected stream; @libp2p/pnet (xsalsa20) measured ${rp.toFixed(1)} MB/s = ${pct(rp)}`,
    },
    {
      metric: 'fetch a 10 MB Automerge chart (200 attachments) over the mesh',
      ours: doc.bytes / MB / doc.seconds,
      baseline: null,
      unit: 'MB/s',
      goal: 'info',
      ok: true,
      note: `${(doc.bytes / 1024).toFixed(0)} KiB saved doc in ${(doc.seconds * 1000).toFixed(0)} ms (automerge work included)`,
    },
  ]
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const row of await benchMesh()) console.log(JSON.stringify(row))
}
