import { Repo } from '@automerge/automerge-repo'
import type { AutomergeUrl, DocHandle, NetworkAdapterInterface, PeerId } from '@automerge/automerge-repo'
import { afterEach, describe, expect, it } from 'vitest'
import { eventually, nextEvent } from './eventually.js'

export type Network = NetworkAdapterInterface[]

/**
 * Three peers in a line, 0 — 1 — 2: peers 0 and 1 are linked, 1 and 2 are linked, 0 and 2 are not,
 * so anything 0 and 2 share passes through 1.
 */
export interface AdapterFixture {
  adapters: [Network, Network, Network]
  /** Breaks the 0 — 1 link (both ends must then emit peer-disconnected). */
  cut(): Promise<void>
  /**
   * Restores the 0 — 1 link. Returns adapters to add to peers 0 and 1, or empty arrays when the
   * existing adapters reconnect by themselves.
   */
  heal(): Promise<[Network, Network]>
  teardown(): Promise<void>
}

export type AdapterSetup = () => Promise<AdapterFixture>

export interface SuiteOptions {
  /**
   * Assert exactly one `peer-candidate` per remote repo (default true). The stock MessageChannel adapter
   * announces a peer twice (once on `arrive`, once on `welcome`), which automerge-repo tolerates.
   */
  exactlyOnePeerCandidate?: boolean
}

interface Doc {
  text?: string
  notes?: Record<string, string>
}

const names = ['alice', 'bob', 'carol'] as const

function repoFor(i: 0 | 1 | 2, network: Network): Repo {
  return new Repo({ network, peerId: names[i] as PeerId, sharePolicy: () => Promise.resolve(true) })
}

/** Resolves once `repo` has a live sync peer for each of `peers`. */
function linked(repo: Repo, peers: readonly string[], timeoutMs = 10_000): Promise<true> {
  return eventually(() => peers.every((p) => repo.peers.includes(p as PeerId)), {
    on: [[repo.networkSubsystem, 'peer']],
    timeoutMs,
    what: `${String(repo.peerId)} linked to ${peers.join(', ')}`,
  })
}

function until<T>(handle: DocHandle<T>, pred: (d: T) => boolean, what: string): Promise<true> {
  return eventually(
    () => {
      const d = handle.isReady() ? handle.doc() : undefined
      return d !== undefined && pred(d)
    },
    { on: [[handle, 'change']], timeoutMs: 10_000, what },
  )
}

/**
 * The acceptance suite every automerge-repo network adapter of clinic-mesh must pass. Each test builds its
 * own fixture and tears it down, awaiting events (never fixed sleeps).
 */
export function runNetworkAdapterTests(name: string, setup: AdapterSetup, options: SuiteOptions = {}): void {
  const exactlyOnce = options.exactlyOnePeerCandidate ?? true
  describe(`network adapter acceptance: ${name}`, () => {
    let fixture: AdapterFixture | undefined
    const repos: Repo[] = []
    const start = async (): Promise<AdapterFixture> => {
      fixture = await setup()
      return fixture
    }
    const repo = (i: 0 | 1 | 2, f: AdapterFixture): Repo => {
      const r = repoFor(i, f.adapters[i])
      repos.push(r)
      return r
    }

    afterEach(async () => {
      await Promise.all(repos.splice(0).map((r) => r.shutdown().catch(() => {})))
      await fixture?.teardown()
      fixture = undefined
    })

    it('two repos sync a document', async () => {
      const f = await start()
      const [a, b] = [repo(0, f), repo(1, f)]
      await linked(b, ['alice'])
      const ha = a.create<Doc>({ text: 'hello' })
      const hb = await b.find<Doc>(ha.url)
      expect(hb.doc().text).toBe('hello')
    })

    it('changes propagate both ways and concurrent edits converge', async () => {
      const f = await start()
      const [a, b] = [repo(0, f), repo(1, f)]
      await Promise.all([linked(a, ['bob']), linked(b, ['alice'])])
      const ha = a.create<Doc>({ notes: {} })
      const hb = await b.find<Doc>(ha.url)
      ha.change((d) => (d.notes!.fromA = 'a1'))
      await until(hb, (d) => d.notes?.fromA === 'a1', 'bob sees alice')
      hb.change((d) => (d.notes!.fromB = 'b1'))
      await until(ha, (d) => d.notes?.fromB === 'b1', 'alice sees bob')
      ha.change((d) => (d.text = 'from alice'))
      hb.change((d) => (d.text = 'from bob'))
      const same = (): boolean => JSON.stringify(ha.heads()) === JSON.stringify(hb.heads())
      await eventually(same, {
        on: [
          [ha, 'change'],
          [hb, 'change'],
        ],
        timeoutMs: 10_000,
        what: 'same heads',
      })
      expect(ha.doc().text).toBe(hb.doc().text)
    })

    it('relays changes across three peers (0 and 2 only meet through 1)', async () => {
      const f = await start()
      const [a, b, c] = [repo(0, f), repo(1, f), repo(2, f)]
      await Promise.all([linked(b, ['alice', 'carol']), linked(a, ['bob']), linked(c, ['bob'])])
      expect(a.peers).not.toContain('carol')
      const ha = a.create<Doc>({ text: 'v1' })
      // carol asks bob, who does not have it yet and asks alice on carol's behalf
      const hc = await c.find<Doc>(ha.url)
      expect(hc.doc().text).toBe('v1')
      hc.change((d) => (d.text = 'v2 from carol'))
      await until(ha, (d) => d.text === 'v2 from carol', 'alice sees carol through bob')
    })

    it("relays ephemeral messages across three peers with the originator's senderId", async () => {
      const f = await start()
      const [a, b, c] = [repo(0, f), repo(1, f), repo(2, f)]
      await Promise.all([linked(b, ['alice', 'carol']), linked(a, ['bob']), linked(c, ['bob'])])
      const ha = a.create<Doc>({ text: 'presence' })
      const hc = await c.find<Doc>(ha.url)
      await until(hc, (d) => d.text === 'presence', 'carol has the document')
      const heard = nextEvent<{ senderId: string; message: unknown }>(hc, 'ephemeral-message', 10_000)
      // carol's interest reaches alice through bob before alice broadcasts (bob forwards to the peers it syncs with)
      await eventually(() => b.handles[ha.documentId] !== undefined, {
        timeoutMs: 10_000,
        what: 'bob holds it',
      })
      ha.broadcast({ here: 'alice' })
      const got = await heard
      expect(got.message).toEqual({ here: 'alice' })
      expect(got.senderId).toBe('alice')
    })

    it('announces a remote repo once (peer-candidate with its metadata)', async () => {
      const f = await start()
      const seen: Array<{ peerId: string; storageId?: string }> = []
      for (const adapter of f.adapters[1]) {
        adapter.on('peer-candidate', ({ peerId, peerMetadata }) =>
          seen.push({ peerId, storageId: peerMetadata.storageId }),
        )
      }
      const [a, b] = [repo(0, f), repo(1, f)]
      await linked(b, ['alice'])
      const ha = a.create<Doc>({ text: 'x' })
      await b.find<Doc>(ha.url) // a full round of sync traffic after the link came up
      const fromAlice = seen.filter((s) => s.peerId === 'alice')
      if (exactlyOnce) expect(fromAlice).toHaveLength(1)
      else expect(fromAlice.length).toBeGreaterThanOrEqual(1)
      expect(b.peers.filter((p) => p === 'alice')).toHaveLength(1)
      expect(seen[0]?.storageId).toBe(await a.storageId())
    })

    it('emits peer-disconnected on both sides when a peer goes away', async () => {
      const f = await start()
      const [a, b] = [repo(0, f), repo(1, f)]
      await Promise.all([linked(a, ['bob']), linked(b, ['alice'])])
      const gone = nextEvent<{ peerId: string }>(b.networkSubsystem, 'peer-disconnected', 10_000)
      await a.shutdown()
      expect((await gone).peerId).toBe('alice')
      await eventually(() => !b.peers.includes('alice' as PeerId), { what: 'bob forgets alice' })
    })

    it('reconnects after the link drops and converges on edits made apart', async () => {
      const f = await start()
      const [a, b] = [repo(0, f), repo(1, f)]
      await Promise.all([linked(a, ['bob']), linked(b, ['alice'])])
      const ha = a.create<Doc>({ notes: {} })
      const hb = await b.find<Doc>(ha.url)
      const lostA = nextEvent(a.networkSubsystem, 'peer-disconnected', 10_000)
      const lostB = nextEvent(b.networkSubsystem, 'peer-disconnected', 10_000)
      await f.cut()
      await Promise.all([lostA, lostB])
      ha.change((d) => (d.notes!.a = 'written apart'))
      hb.change((d) => (d.notes!.b = 'written apart'))
      const [addA, addB] = await f.heal()
      for (const n of addA) a.networkSubsystem.addNetworkAdapter(n)
      for (const n of addB) b.networkSubsystem.addNetworkAdapter(n)
      await Promise.all([linked(a, ['bob']), linked(b, ['alice'])])
      const both = (d: Doc): boolean => d.notes?.a !== undefined && d.notes.b !== undefined
      await Promise.all([until(ha, both, 'alice has both'), until(hb, both, 'bob has both')])
      expect(ha.doc()).toEqual(hb.doc())
    })
  })
}

export type { AutomergeUrl }
