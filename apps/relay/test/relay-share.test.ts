import type { DocumentId, PeerId } from '@automerge/automerge-repo'
import { Repo } from '@automerge/automerge-repo'
import { AccessMap, RelayShare } from '@clinic-mesh/relay'
import { eventually } from '@clinic-mesh/testing'
import { afterEach, describe, expect, it } from 'vitest'
import { channelDevice, closeChannels, tracked } from './channel-fixture.js'

// The relay's share policy re-evaluates one clinic's documents when that clinic's access changes (RelayShare), not
// every document with every peer (automerge-repo's shareConfigChanged: a third of an instance's CPU at 150 clinics,
// and slower with every clinic). What it must still do: a device that asked for a document before it was its
// clinic's receives it once mapped, and a revoked device stops syncing.

const quiet = (): void => {}
afterEach(closeChannels)

function relayRepo(access: AccessMap): { relay: Repo; share: RelayShare } {
  const share = new RelayShare(access, quiet)
  const relay = new Repo({ network: [], peerId: 'relay' as PeerId, shareConfig: share.config })
  share.attach(relay)
  tracked(relay)
  return { relay, share }
}

describe('the relay share policy, one clinic at a time', () => {
  it('sends a device a document it asked for before it was mapped to its clinic; a revoked device stops syncing', async () => {
    const access = new AccessMap()
    const { relay } = relayRepo(access)
    const doc = relay.create({ kind: 'settled-inventory', round: 1 })
    const id = doc.documentId
    const tab = await channelDevice(relay, 'tab-a')
    access.addPeer('tab-a' as PeerId, 'clinic-a')

    // asked before the relay knows whose it is: refused for now
    const h = await tab.find(doc.url, { allowableStates: ['ready', 'unavailable'] })
    expect(h.isReady()).toBe(false)
    expect(relay.synchronizer.docSynchronizers[id]!.hasPeer('tab-a' as PeerId)).toBe(false)

    access.addDoc(id, 'clinic-a')
    await eventually(() => h.isReady() && (h.doc() as { round?: number }).round === 1, { timeoutMs: 10_000 })

    access.revokePeer('tab-a' as PeerId)
    await eventually(() => !relay.synchronizer.docSynchronizers[id]!.hasPeer('tab-a' as PeerId), {
      timeoutMs: 10_000,
    })
    doc.change((d) => {
      d.round = 2
    })
    await relay.flush()
    // nothing more reaches the revoked tablet: its copy stays at round 1 while a connected peer of the clinic gets 2
    const other = await channelDevice(relay, 'tab-b')
    access.addPeer('tab-b' as PeerId, 'clinic-a')
    const h2 = await other.find<{ round: number }>(doc.url)
    await eventually(() => h2.doc()?.round === 2, { timeoutMs: 10_000 })
    expect((h.doc() as { round: number }).round).toBe(1)
  })

  it('a change in one clinic asks the policy nothing about the documents of the others', async () => {
    const access = new AccessMap()
    const { relay, share } = relayRepo(access)
    // 200 other clinics' documents open at the relay, and a device of clinic A and one of clinic B connected
    const others: DocumentId[] = []
    for (let c = 0; c < 200; c++) {
      const h = relay.create({ c })
      access.addDoc(h.documentId, `clinic-${c}`)
      others.push(h.documentId)
    }
    await channelDevice(relay, 'tab-a')
    await channelDevice(relay, 'tab-b')
    access.addPeer('tab-a' as PeerId, 'clinic-a')
    access.addPeer('tab-b' as PeerId, 'clinic-b')
    await share.idle() // the batched re-evaluations of the set-up

    const seen: DocumentId[] = []
    const allows = access.allows.bind(access)
    access.allows = (peer, doc) => {
      seen.push(doc)
      return allows(peer, doc)
    }
    const mine = relay.create({ kind: 'log' })
    access.addDoc(mine.documentId, 'clinic-a')
    access.addPeer('tab-c' as PeerId, 'clinic-a')
    await share.idle() // the re-evaluation is batched over 10 ms
    const otherSet = new Set(others)
    expect(seen.filter((d) => otherSet.has(d))).toEqual([])
    expect(seen.length).toBeGreaterThan(0) // clinic A's own documents were re-evaluated
  })
})
