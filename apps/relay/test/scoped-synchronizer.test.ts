import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { DocumentId, PeerId } from '@automerge/automerge-repo'
import { Repo } from '@automerge/automerge-repo'
import {
  AccessMap,
  installScopedSynchronizer,
  RelayShare,
  scopedSynchronizerInternals,
} from '@clinic-mesh/relay'
import { AUTOMERGE_PINNED } from '@clinic-mesh/store'
import { eventually } from '@clinic-mesh/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { channelDevice, closeChannels, tracked } from './channel-fixture.js'

// The relay's repo asks its share policy only about the peers of a document's own clinic (scoped-synchronizer.ts):
// automerge-repo's stock synchronizer asks about every connected peer for every sync message, which took a quarter
// of a relay instance's CPU at 1,000 clinics. What must not change: a device gets its clinic's documents it asks for
// and their changes live, another clinic's device gets nothing, and a device that leaves stops being synced.

const quiet = (): void => {}
afterEach(closeChannels)

type Ask = [peer: PeerId, doc: DocumentId | undefined]

/** The relay's repo as relay.ts makes it, its policy's questions recorded; `scoped: false` keeps the stock one. */
function relayRepo(access: AccessMap, scoped = true): { relay: Repo; asks: Ask[] } {
  const share = new RelayShare(access, quiet)
  const asks: Ask[] = []
  const relay = new Repo({
    network: [],
    peerId: 'relay' as PeerId,
    shareConfig: {
      announce: (peer, doc) => (asks.push([peer, doc]), share.config.announce(peer, doc)),
      access: (peer, doc) => (asks.push([peer, doc]), share.config.access(peer, doc)),
    },
  })
  if (scoped)
    expect(
      installScopedSynchronizer(relay, {
        peersFor: (d) => access.peersFor(d),
        docsFor: (p) => access.docsFor(p),
      }),
    ).toBe(true)
  share.attach(relay)
  tracked(relay)
  return { relay, asks }
}

/** A device of `clinic` connected to the relay over a MessageChannel. */
function device(relay: Repo, access: AccessMap, name: string, clinic: string): Promise<Repo> {
  access.addPeer(name as PeerId, clinic)
  return channelDevice(relay, name)
}

describe('the relay repo synchronizer scoped to a clinic', () => {
  it('is pinned: automerge-repo is the version measured and has the internals it replaces', () => {
    const require = createRequire(import.meta.url)
    const entry = require.resolve('@automerge/automerge-repo')
    const pkg = JSON.parse(readFileSync(entry.replace(/dist\/.*$/, 'package.json'), 'utf8')) as {
      version: string
    }
    expect(pkg.version).toBe(AUTOMERGE_PINNED['automerge-repo'])
    const repo = new Repo({ network: [] })
    tracked(repo)
    const internals = scopedSynchronizerInternals(repo)
    expect(Object.entries(internals).filter(([, ok]) => !ok)).toEqual([])
  })

  it("syncs a clinic's document live between its devices, not to another clinic's, and forgets a device that leaves", async () => {
    const access = new AccessMap()
    const { relay } = relayRepo(access)
    const doc = relay.create<{ round: number }>({ round: 1 })
    access.addDoc(doc.documentId, 'clinic-a')
    const a1 = await device(relay, access, 'a1', 'clinic-a')
    const a2 = await device(relay, access, 'a2', 'clinic-a')
    const b1 = await device(relay, access, 'b1', 'clinic-b')

    const h1 = await a1.find<{ round: number }>(doc.url)
    const h2 = await a2.find<{ round: number }>(doc.url)
    expect([h1.doc().round, h2.doc().round]).toEqual([1, 1])
    const hb = await b1.find(doc.url, { allowableStates: ['ready', 'unavailable'] })
    expect(hb.isReady()).toBe(false)

    // a device's change reaches the relay and the clinic's other device; the relay's reaches both
    h1.change((d) => void (d.round = 2))
    await eventually(() => h2.doc().round === 2 && doc.doc().round === 2, { timeoutMs: 10_000 })
    doc.change((d) => void (d.round = 3))
    await eventually(() => h1.doc().round === 3 && h2.doc().round === 3, { timeoutMs: 10_000 })

    // a1 leaves: the relay stops syncing it, and a2 still gets the relay's changes
    const sync = relay.synchronizer.docSynchronizers[doc.documentId]!
    expect(sync.hasPeer('a1' as PeerId)).toBe(true)
    await a1.shutdown()
    await eventually(() => !relay.peers.includes('a1' as PeerId) && !sync.hasPeer('a1' as PeerId), {
      timeoutMs: 10_000,
    })
    doc.change((d) => void (d.round = 4))
    await eventually(() => h2.doc().round === 4, { timeoutMs: 10_000 })
    expect(sync.hasPeer('b1' as PeerId)).toBe(false)
  })

  it('asks the policy about the peers of the clinic only, not about every connected device', async () => {
    const access = new AccessMap()
    const { relay, asks } = relayRepo(access)
    const doc = relay.create<{ round: number }>({ round: 1 })
    access.addDoc(doc.documentId, 'clinic-a')
    // 60 other clinics' devices connected, each with a document of its own open at the relay
    for (let c = 0; c < 60; c++) {
      relay.create({ c })
      await device(relay, access, `other-${c}`, `clinic-${c}`)
    }
    const a1 = await device(relay, access, 'a1', 'clinic-a')
    const h1 = await a1.find<{ round: number }>(doc.url)
    asks.length = 0
    for (let round = 2; round <= 6; round++) {
      h1.change((d) => void (d.round = round))
      await eventually(() => doc.doc().round === round, { timeoutMs: 10_000 })
    }
    const others = asks.filter(([peer]) => peer.startsWith('other-'))
    expect(others).toEqual([])
  })
})
