import type { DocHandle, PeerId, StorageKey } from '@automerge/automerge-repo'
import { Repo } from '@automerge/automerge-repo'
import { MessageChannelNetworkAdapter } from '@automerge/automerge-repo-network-messagechannel'
import * as A from '@automerge/automerge'
import { MemoryStorage, eventually } from '@clinic-mesh/testing'
import type pg from 'pg'
import { afterEach, expect, it } from 'vitest'
import { FencedStorage } from '../src/fenced-storage.js'
import { SharedStorage } from '../src/shared-storage.js'

// A relay instance over PostgreSQL saves a device's sync state per document after each sync message (the repo's save
// debounce is 20 ms there): written behind, the last one per key, they cost PostgreSQL one write per document and
// device per interval instead of one per message (the first goes through at once). A sync state is a cache, but the one written must be the last.

/** The relay's storage under test: saves are counted by key kind (no PostgreSQL: sync states never notify). */
class Counting extends MemoryStorage {
  readonly saves: StorageKey[] = []
  override async save(key: StorageKey, data: Uint8Array): Promise<void> {
    this.saves.push(key)
    await super.save(key, data)
  }
}

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c()
})

async function relayAndDevice(): Promise<{
  inner: Counting
  storage: SharedStorage
  relay: Repo
  device: Repo
}> {
  const inner = new Counting()
  // the pool is used only to announce document chunks; a minute: no timed write within the test
  const storage = new SharedStorage(
    new FencedStorage(inner, new Set()),
    {
      query: () => Promise.resolve({ rows: [] }),
    } as unknown as pg.Pool,
    'test',
    60_000,
  )
  const { port1, port2 } = new MessageChannel()
  const relay = new Repo({
    storage,
    network: [new MessageChannelNetworkAdapter(port1)],
    peerId: 'relay' as PeerId,
    saveDebounceRate: 20,
    sharePolicy: () => Promise.resolve(false),
  })
  // a tablet keeps its documents: it has a storageId, so the relay keeps a sync state for it
  const device = new Repo({
    storage: new MemoryStorage(),
    network: [new MessageChannelNetworkAdapter(port2)],
    peerId: 'tablet' as PeerId,
  })
  cleanups.push(async () => {
    await device.shutdown()
    await relay.shutdown()
    port1.close()
    port2.close()
  })
  await eventually(() => relay.peers.includes('tablet' as PeerId), { what: 'the tablet connected' })
  return { inner, storage, relay, device }
}

it("writes a device's sync state once per document and interval, the last one, and reads it back meanwhile", async () => {
  const { inner, storage, relay, device } = await relayAndDevice()
  // a document the relay writes (as its settled inventory), which the tablet asks for
  const doc = relay.create<{ n: number }>({ n: 0 })
  let atDevice: DocHandle<{ n: number }> | undefined
  await eventually(
    async () => (atDevice = await device.find<{ n: number }>(doc.url).catch(() => undefined)) !== undefined,
    { what: 'the document at the tablet' },
  )
  for (let i = 1; i <= 30; i++) {
    doc.change((d) => {
      d.n = i
    })
    await eventually(() => atDevice?.doc()?.n === i, { pollMs: 5, what: `change ${i} at the tablet` })
  }
  const storageId = await device.storageId()
  const key = [doc.documentId, 'sync-state', String(storageId)]
  const syncStateWrites = (): number => inner.saves.filter((k) => k[1] === 'sync-state').length
  const heads = A.getHeads(doc.doc())
  const shared = async (): Promise<string[] | undefined> => {
    const saved = await storage.load(key)
    return saved && A.decodeSyncState(saved).sharedHeads
  }
  // the relay's sync state with the tablet as of the last change, read back from memory
  await eventually(async () => JSON.stringify(await shared()) === JSON.stringify(heads), {
    what: 'the sync state of the last round saved',
  })
  // 30 changes, each a round of sync messages: the first sync state written, the latest kept in memory
  expect(syncStateWrites()).toBe(1)
  const last = await storage.load(key)
  await storage.flushSyncStates()
  expect(syncStateWrites()).toBe(2)
  // the one written is the last one the repo saved, byte for byte
  const written = inner.data.get(JSON.stringify(key))
  expect(written).toEqual(last)
  expect(A.decodeSyncState(written!).sharedHeads).not.toEqual([])
  // a document removed: its sync states go too, written or not
  await storage.save(key, written!)
  await storage.removeRange([doc.documentId, 'sync-state'])
  expect(await storage.load(key)).toBeUndefined()
  await storage.flushSyncStates()
  expect(syncStateWrites()).toBe(2)
})
