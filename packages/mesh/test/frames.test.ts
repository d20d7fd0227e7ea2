import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import type { Libp2p } from '@libp2p/interface'
import { afterEach, expect, it } from 'vitest'
import type { Repo } from '@automerge/automerge-repo'
import { clinicNetworkKey, clinicPrivateNetwork, encodeFrame, SYNC_PROTOCOL } from '@clinic-mesh/mesh'
import type { MeshNode, StreamErrorEvent } from '@clinic-mesh/mesh'
import { eventually, nextEvent } from '@clinic-mesh/testing'
import { makeClinic, makeDevice, repoOn, startNode, syncedWith, findShared } from './clinic.js'
import type { TestClinic, TestDevice } from './clinic.js'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn()
})

/** An enrolled device that speaks raw bytes on the sync protocol: a buggy or hostile peer. */
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

async function sendRaw(from: Libp2p, to: MeshNode, bytes: Uint8Array): Promise<void> {
  const stream = await from.dialProtocol(multiaddr(to.multiaddrs()[0]), SYNC_PROTOCOL)
  stream.addEventListener('message', () => {}) // read and drop the server's handshake
  stream.send(bytes)
}

it('a malformed or oversized frame resets that stream with a named error; the node keeps serving others', async () => {
  const c = makeClinic()
  const [dServer, dGood, dBad] = await Promise.all([
    makeDevice(c, 'Server'),
    makeDevice(c, 'Good'),
    makeDevice(c, 'Buggy'),
  ])
  const members = [dServer, dGood, dBad]
  const server = await startNode(c, dServer, members, { maxFrameBytes: 64 * 1024 })
  const good = await startNode(c, dGood, members, { bootstrap: server.multiaddrs() })
  const repos: Repo[] = [repoOn(server, 'server'), repoOn(good, 'good')]
  cleanups.push(async () => {
    await Promise.all(repos.map((r) => r.shutdown()))
    await Promise.all([server.stop(), good.stop()])
  })
  const logged: string[] = []
  server.log = (line) => logged.push(line)
  await Promise.all([syncedWith(server, [dGood.id]), syncedWith(good, [dServer.id])])
  const chart = repos[0]!.create<{ visits: number }>({ visits: 0 })
  const mirror = await findShared<{ visits: number }>(repos[1]!, chart.url)

  const bad = await rawPeer(c, dBad)
  const cases: Array<[string, Uint8Array]> = [
    ['FrameTooLargeError', Uint8Array.of(0x80, 0x80, 0x40)], // announces 1 MiB > 64 KiB
    ['MalformedFrameError', Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0x01)], // varint longer than 5 bytes
    ['MalformedFrameError', encodeFrame(Uint8Array.of(0x07, 0xa0))], // unknown frame kind
    ['HandshakeError', encodeFrame(Uint8Array.of(0x03, 0xa0))], // a bye before any handshake
  ]
  for (const [name, bytes] of cases) {
    const reset = nextEvent<StreamErrorEvent>(server, 'stream-error', 5000)
    await sendRaw(bad, server, bytes)
    const evt = await reset
    expect(evt.peer).toBe(dBad.id)
    expect(evt.error.name).toBe(name)
    // the good device still syncs, through the same node, after each reset
    chart.change((d) => (d.visits += 1))
    const expected = chart.doc().visits
    await eventually(() => mirror.doc().visits === expected, {
      on: [[mirror, 'change']],
      what: `visit ${expected} synced`,
    })
  }
  expect(
    logged.filter((l) => /reset: (FrameTooLargeError|MalformedFrameError|HandshakeError)/.test(l)),
  ).toHaveLength(4)
  expect(server.peers().map((p) => p.id)).toEqual([dGood.id])
})
