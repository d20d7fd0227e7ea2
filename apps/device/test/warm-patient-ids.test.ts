import { describe, expect, it } from 'vitest'
import { Repo, type PeerId } from '@automerge/automerge-repo'
import type { DeviceId, UserId } from '@clinic-mesh/contracts'
import { emptyCollection, type ChartCollection } from '@clinic-mesh/records'
import { ClinicStore } from '@clinic-mesh/store'
import { MemoryStorage } from '@clinic-mesh/testing'
import { openVisitsOfBucket, summarizeOf } from '../src/clinic-documents.js'
import { RecordsApi } from '../src/records-api.js'
import { WARM_IDS } from '../src/warm-patient-ids.js'

const actor = { user: 'u_clerk' as UserId, device: 'dev_desk' as DeviceId }
const walkIn = (i: number) => ({
  given: `Walkin${i}`,
  family: 'Desk',
  birthDate: '1990-03-04',
  sex: 'female',
  identifiers: [],
  reason: 'fever',
})

/** A device's clinic reopened from storage: every chart bucket on disk, none in memory (a tablet after a restart). */
async function reopened(): Promise<{ repo: Repo; store: ClinicStore<ChartCollection> }> {
  const storage = new MemoryStorage()
  const founder = new Repo({ storage, network: [], peerId: 'desk' as PeerId })
  const root = ClinicStore.createDocuments<ChartCollection>(founder, {
    clinic: 'c1',
    emptyBucket: emptyCollection,
  })
  await founder.flush()
  await founder.shutdown()
  const repo = new Repo({ storage, network: [], peerId: 'desk' as PeerId })
  const store = await ClinicStore.open<ChartCollection>(repo, root, {
    summarize: summarizeOf,
    openVisits: openVisitsOfBucket,
  })
  return { repo, store }
}

describe('the registration desk (issue 17 #8)', () => {
  it("loads the next new patient's chart bucket ahead: no registration after the first reads one from disk", async () => {
    const { repo, store } = await reopened()
    expect(store.loadedBuckets).toBe(0)
    const records = new RecordsApi(repo, store)
    const loads: string[] = []
    repo.on('doc-metrics', (m) => void (m.type === 'doc-loaded' && loads.push(m.documentId)))

    const first = await records.register(walkIn(0), actor)
    expect(first.encounterId).toBeDefined()
    expect(loads).toHaveLength(1) // the first registration's bucket: read on its path
    for (let i = 1; i <= 4; i++) {
      await records.nextRegistrationsReady()
      // an idle sweep right before the registration: every bucket goes back to disk but those held for the desk
      await store.releaseIdle(0)
      expect(store.loadedBuckets).toBeGreaterThanOrEqual(1)
      expect(store.loadedBuckets).toBeLessThanOrEqual(WARM_IDS)
      const before = loads.length
      const { id } = await records.register(walkIn(i), actor)
      expect(loads.slice(before), `registration ${i} read its bucket from disk`).toEqual([])
      expect(store.search(`Walkin${i}`).map((s) => s.id)).toEqual([id])
      expect((await records.chart(id)) as { id: string }).toMatchObject({ id })
    }
    await repo.shutdown()
  })
})
