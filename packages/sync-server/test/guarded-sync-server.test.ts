// the full entry point loads Automerge's wasm (the repos below need it; the adapter itself imports only /slim)
import { Repo, type DocHandleEphemeralMessagePayload, type PeerId } from '@automerge/automerge-repo'
import { cbor } from '@automerge/automerge-repo/slim'
import { WebSocketClientAdapter } from '@automerge/automerge-repo-network-websocket'
import { afterEach, describe, expect, it } from 'vitest'
import {
  PASS,
  PeerMismatchError,
  REFUSAL_TYPE,
  closeReason,
  type Admission,
  type SyncMessage,
  type SyncServerPolicy,
} from '@clinic-mesh/sync-server'
import { RawClient, startServer, type ServerFixture } from './server-fixture.js'

class ForbiddenWriteError extends Error {
  override readonly name = 'ForbiddenWriteError'
}

/** A policy whose join accepts only `web-…` peers; `admit` and `deliver` as the test needs. */
function policy(over: Partial<SyncServerPolicy<string>> = {}): SyncServerPolicy<string> {
  return {
    join: (peerId) => {
      if (!peerId.startsWith('web-')) throw new PeerMismatchError(`${peerId} is not a browser`)
    },
    admit: () => PASS,
    deliver: () => true,
    ...over,
  }
}

const cleanup: (() => unknown)[] = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})
async function serve(
  p: SyncServerPolicy<string>,
  init: { maxPayload?: number } = {},
): Promise<ServerFixture<string>> {
  const s = await startServer<string>({ policy: p, readyWithoutPeers: true, ...init }, (url) => url)
  cleanup.push(() => s.close())
  return s
}
async function raw(url: string): Promise<RawClient> {
  const c = await RawClient.open(url)
  cleanup.push(() => c.close())
  return c
}

/** Connects the adapter as a repo would and collects what it hands the repo; `count(n)` waits for n messages. */
function heard(s: ServerFixture<string>): { messages: SyncMessage[]; count: (n: number) => Promise<void> } {
  const messages: SyncMessage[] = []
  const waiters: (() => void)[] = []
  s.adapter.connect('server' as PeerId, {})
  s.adapter.on('message', (m) => {
    messages.push(m)
    for (const w of waiters.splice(0)) w()
  })
  const count = async (n: number): Promise<void> => {
    while (messages.length < n) await new Promise<void>((resolve) => waiters.push(resolve))
  }
  return { messages, count }
}

const msg = (senderId: string, n: number, documentId = 'doc1'): Record<string, unknown> => ({
  type: 'test',
  senderId,
  targetId: 'server',
  documentId,
  data: new Uint8Array([n]),
})

describe('GuardedSyncServer: who may speak', () => {
  it('closes 1008 PeerMismatchError a join its policy refuses; the peer never reaches the repo', async () => {
    const s = await serve(policy())
    heard(s)
    const candidates: string[] = []
    s.adapter.on('peer-candidate', ({ peerId }) => candidates.push(peerId))
    const c = await raw(s.url)
    c.join('relay-1')
    expect(await c.closed).toEqual({ code: 1008, reason: 'PeerMismatchError: relay-1 is not a browser' })
    expect(candidates).toEqual([])
    expect(s.log).toContainEqual({
      event: 'sync-message-refused',
      fields: { error: 'PeerMismatchError', message: 'relay-1 is not a browser', peer: null },
    })
  })

  it('answers a join with the stock peer message; a socket speaks only as the peer it joined as, and only after joining', async () => {
    const s = await serve(policy())
    const repo = heard(s)
    const c = await raw(s.url)
    c.join('web-a')
    expect(await c.next((m) => m.type === 'peer')).toEqual({
      type: 'peer',
      senderId: 'server',
      peerMetadata: {},
      selectedProtocolVersion: '1',
      targetId: 'web-a',
    })
    c.send(msg('web-a', 1))
    c.send(msg('web-b', 2))
    expect(await c.closed).toEqual({
      code: 1008,
      reason: 'PeerMismatchError: the socket joined as web-a and sent as web-b',
    })
    expect(repo.messages.map((m) => m.data?.[0])).toEqual([1])

    const early = await raw(s.url)
    early.send(msg('web-c', 3))
    expect((await early.closed).reason).toBe('PeerMismatchError: web-c sent test before joining')
  })

  it('answers an unsupported protocol version with the stock error message and closes', async () => {
    const s = await serve(policy())
    heard(s)
    const c = await raw(s.url)
    c.send({ type: 'join', senderId: 'web-v2', peerMetadata: {}, supportedProtocolVersions: ['2'] })
    expect(await c.next((m) => m.type === 'error')).toMatchObject({
      message: 'unsupported protocol version',
      targetId: 'web-v2',
    })
    expect((await c.closed).code).toBe(1002)
  })

  it('closes 1013 a socket that arrives before a repo connected the adapter', async () => {
    const s = await serve(policy())
    const c = await raw(s.url)
    expect((await c.closed).code).toBe(1013)
  })
})

describe('GuardedSyncServer: malformed and oversized frames', () => {
  it('closes 1008 MalformedSyncMessageError every malformed frame, and keeps serving', async () => {
    const s = await serve(policy())
    const repo = heard(s)
    const frames: [string, Uint8Array | string][] = [
      ['not CBOR', Uint8Array.from([0xff, 0xfe, 0xfd, 0x1c])],
      ['CBOR null', cbor.encode(null)],
      ['CBOR array', cbor.encode(['join', 'web-a'])],
      ['senderId not a string', cbor.encode({ type: 'join', senderId: 7 })],
      ['data not bytes', cbor.encode({ type: 'sync', senderId: 'web-a', data: 'text' })],
      ['versions not a list', cbor.encode({ type: 'join', senderId: 'web-a', supportedProtocolVersions: 1 })],
      ['a text frame', 'hello, sync'],
    ]
    for (const [what, frame] of frames) {
      const c = await raw(s.url)
      c.sendRaw(frame)
      const closed = await c.closed
      expect({ what, code: closed.code, name: closed.reason.split(':')[0] }).toEqual({
        what,
        code: 1008,
        name: 'MalformedSyncMessageError',
      })
    }
    expect(
      s.log.filter(
        (l) => l.event === 'sync-message-refused' && l.fields.error === 'MalformedSyncMessageError',
      ),
    ).toHaveLength(frames.length)
    const ok = await raw(s.url)
    ok.join('web-ok')
    await ok.next((m) => m.type === 'peer')
    ok.send(msg('web-ok', 9))
    await repo.count(1)
    expect(repo.messages[0]).toMatchObject({ senderId: 'web-ok', type: 'test' })
  })

  it('closes 1009 a frame over maxPayload (logged sync-socket-error), and keeps serving', async () => {
    const s = await serve(policy(), { maxPayload: 1024 })
    const repo = heard(s)
    const big = await raw(s.url)
    big.join('web-big')
    await big.next((m) => m.type === 'peer')
    big.send({ ...msg('web-big', 1), data: new Uint8Array(4096) })
    expect((await big.closed).code).toBe(1009)
    expect((await s.logged('sync-socket-error')).fields).toEqual({
      error: 'RangeError',
      code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
    })
    const ok = await raw(s.url)
    ok.join('web-ok')
    await ok.next((m) => m.type === 'peer')
    ok.send(msg('web-ok', 2))
    await repo.count(1)
    expect(repo.messages.map((m) => m.senderId)).toEqual(['web-ok'])
  })

  it('fits a long, multi-byte refusal into a close reason (123 bytes of whole characters)', async () => {
    const reason = closeReason('PeerMismatchError', 'ö'.repeat(200))
    expect(Buffer.byteLength(reason)).toBeLessThanOrEqual(123)
    expect(reason).toMatch(/^PeerMismatchError: ö+$/)
    const s = await serve(policy())
    heard(s)
    const c = await raw(s.url)
    c.join('web-a')
    await c.next((m) => m.type === 'peer')
    c.send(msg('ö'.repeat(150), 1))
    const closed = await c.closed
    expect([closed.code, closed.reason]).toEqual([
      1008,
      expect.stringMatching(/^PeerMismatchError: the socket joined as web-a and sent as ö+$/),
    ])
  })
})

describe('GuardedSyncServer: admission and delivery', () => {
  it('admits one message of a socket at a time, in arrival order, however long the policy takes', async () => {
    let inFlight = 0
    let most = 0
    const slow = async (m: SyncMessage): Promise<Admission> => {
      most = Math.max(most, ++inFlight)
      // the first message takes longest: without the per-socket queue it would reach the repo last
      await new Promise((resolve) => setTimeout(resolve, 40 - 10 * (m.data?.[0] ?? 0)))
      inFlight--
      return PASS
    }
    const s = await serve(policy({ admit: slow }))
    const repo = heard(s)
    const c = await raw(s.url)
    c.join('web-a')
    for (const n of [1, 2, 3]) c.send(msg('web-a', n))
    await repo.count(3)
    expect(repo.messages.map((m) => m.data?.[0])).toEqual([1, 2, 3])
    expect(most).toBe(1)
  })

  it('closes 1008 with the error name a message the policy answers with close', async () => {
    const s = await serve(
      policy({
        admit: () => ({
          verdict: 'close',
          error: new ForbiddenWriteError('doc1 is written by the relay only'),
        }),
      }),
    )
    const repo = heard(s)
    const c = await raw(s.url)
    c.join('web-a')
    c.send(msg('web-a', 1))
    c.send(msg('web-a', 2))
    expect(await c.closed).toEqual({
      code: 1008,
      reason: 'ForbiddenWriteError: doc1 is written by the relay only',
    })
    expect(s.log).toContainEqual({
      event: 'sync-message-refused',
      fields: { error: 'ForbiddenWriteError', message: 'doc1 is written by the relay only', peer: 'web-a' },
    })
    expect(repo.messages).toEqual([])
  })

  it('withholds what deliver refuses, and sends the rest in order', async () => {
    const s = await serve(policy({ deliver: (m) => (m as { documentId?: string }).documentId !== 'secret' }))
    heard(s)
    const c = await raw(s.url)
    c.join('web-a')
    await c.next((m) => m.type === 'peer')
    for (const documentId of ['secret', 'open'])
      s.adapter.send({
        type: 'test',
        senderId: 'server' as PeerId,
        targetId: 'web-a' as PeerId,
        documentId,
        data: new Uint8Array([1]),
      } as never)
    expect(await c.next((m) => m.type === 'test')).toMatchObject({ documentId: 'open' })
    expect(c.received.filter((m) => m.documentId === 'secret')).toEqual([])
  })

  it('tells a stock client which write was refused (an ephemeral clinic-mesh/refused message); the repo never hears it', async () => {
    const refuse = (m: SyncMessage): Admission =>
      m.type === 'sync'
        ? {
            verdict: 'refuse',
            error: new ForbiddenWriteError('foo is read-only'),
            writes: [{ path: 'foo', value: 'bar' }],
          }
        : PASS
    const s = await serve(policy({ admit: refuse }))
    const server = new Repo({ network: [s.adapter], peerId: 'server' as PeerId })
    const serverHeard: string[] = []
    s.adapter.on('message', (m) => serverHeard.push(m.type))
    const client = new Repo({
      network: [new WebSocketClientAdapter(s.url, 60_000)],
      peerId: 'web-client' as PeerId,
    })
    cleanup.push(
      () => client.shutdown(),
      () => server.shutdown(),
    )
    const h = client.create<{ foo?: string }>()
    const refused = new Promise<DocHandleEphemeralMessagePayload<unknown>>((resolve) =>
      h.on('ephemeral-message', resolve),
    )
    h.change((d) => {
      d.foo = 'bar'
    })
    const { message, senderId } = await refused
    expect(senderId).toBe('server')
    expect(message).toEqual({
      type: REFUSAL_TYPE,
      name: 'ForbiddenWriteError',
      message: 'foo is read-only',
      writes: [{ path: 'foo', value: 'bar' }],
    })
    expect(serverHeard).not.toContain('sync')
    expect(server.handles[h.documentId]).toBeUndefined()
  })

  it('answers doc-unavailable to a request the policy answers with unavailable', async () => {
    const s = await serve(
      policy({
        admit: (m) =>
          m.type === 'request' ? { verdict: 'unavailable', error: new Error('not for you') } : PASS,
      }),
    )
    // (announcing nothing: the client must ask for the document)
    const server = new Repo({
      network: [s.adapter],
      peerId: 'server' as PeerId,
      shareConfig: { announce: () => Promise.resolve(false), access: () => Promise.resolve(true) },
    })
    const doc = server.create<{ secret: string }>({ secret: 'x' })
    const client = new Repo({
      network: [new WebSocketClientAdapter(s.url, 60_000)],
      peerId: 'web-client' as PeerId,
    })
    cleanup.push(
      () => client.shutdown(),
      () => server.shutdown(),
    )
    await expect(client.find(doc.url)).rejects.toThrow(/unavailable/)
  })
})
