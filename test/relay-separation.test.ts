import type { AutomergeUrl } from '@automerge/automerge-repo'
import type { BatchId, ItemId } from '@clinic-mesh/contracts'
import { generateAdminKey } from '@clinic-mesh/mesh'
import { rootLayout, type ClinicRootDoc } from '@clinic-mesh/store'
import { tempDir, type TempDir } from '@clinic-mesh/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TestDevice, qty } from './helpers/relay-device.js'
import { pollUntil } from './helpers/relay-poll.js'
import { RelayProcess } from './helpers/relay-process.js'

interface ClinicStatus {
  clinic: string
  documents: number
  claimsRefused: number
  opsSettled: number
}

describe('relay keeps clinics apart', () => {
  let dir: TempDir
  let relay: RelayProcess
  let a: TestDevice
  let b: TestDevice
  const aDocs: AutomergeUrl[] = []

  const status = async (clinic: string): Promise<ClinicStatus | undefined> =>
    (await relay.api<{ clinics: ClinicStatus[] }>('GET', '/api/status')).body.clinics.find(
      (c) => c.clinic === clinic,
    )

  beforeAll(async () => {
    dir = await tempDir('relay-sep-')
    relay = await RelayProcess.start(dir.path)
    a = new TestDevice(relay.syncUrl, 'clinic-a', 'tab-a')
    b = new TestDevice(relay.syncUrl, 'clinic-b', 'tab-b')
    a.createClinic()
    b.createClinic()
    expect((await a.register(relay)).status).toBe(201)
    expect((await b.register(relay)).status).toBe(201)
    a.append(
      [
        {
          kind: 'formulary-update',
          item: 'x' as ItemId,
          name: 'X',
          price: 1,
          status: 'active',
          controlled: false,
        },
      ],
      'admin',
    )
    a.append([
      {
        kind: 'receive',
        item: 'x' as ItemId,
        batch: 'B1' as BatchId,
        expiry: '2099-01-01',
        quantity: 7,
        unitCost: 1,
        supplier: 's',
        grn: 'g',
      },
    ])
    await a.settled((_d, s) => qty(s, 'B1') === 7)
    // directory, records root, shard, bucket, log, settled inventory, conflict queue
    await pollUntil(
      async () => ((await status('clinic-a'))?.documents ?? 0) >= 7,
      'clinic-a documents mapped',
    )
    const d = a.directory.doc()
    const root = rootLayout((await a.repo.find<ClinicRootDoc>(d.recordsRoot as string as AutomergeUrl)).doc())
    aDocs.push(
      a.directory.url,
      d.recordsRoot as string as AutomergeUrl,
      ...root.indexShards,
      ...root.chartBuckets,
    )
    aDocs.push(...Object.values(d.ledgerLogs['tab-a']!).map((u) => u as string as AutomergeUrl))
    aDocs.push(
      d.settlement.inventory as string as AutomergeUrl,
      d.settlement.conflicts as string as AutomergeUrl,
    )
  })
  afterAll(async () => {
    await a.close()
    await b.close()
    await relay.stop()
    await dir.remove()
  })

  it('never gives a device of clinic B a document of clinic A, whatever id it asks for', async () => {
    expect(aDocs).toHaveLength(7)
    for (const url of aDocs) {
      await expect(b.repo.find(url, { signal: AbortSignal.timeout(10_000) })).rejects.toThrow(/unavailable/)
    }
    // clinic B's own documents still flow
    await b.settled((d) => d.clinic === 'clinic-b')
  })

  it("ignores clinic A's log listed in clinic B's directory (first claim wins)", async () => {
    const aLog = Object.values(a.directory.doc().ledgerLogs['tab-a']!)[0]!
    b.directory.change((d) => {
      d.ledgerLogs['tab-a'] = { '2000-01-01': aLog }
    })
    await pollUntil(async () => ((await status('clinic-b'))?.claimsRefused ?? 0) >= 1, 'claim refused')
    expect((await status('clinic-b'))?.opsSettled).toBe(0)
    expect((await status('clinic-a'))?.opsSettled).toBe(2)
  })

  it('refuses to rebind a clinic id to another directory, or to register a device of clinic B for clinic A', async () => {
    const a2 = new TestDevice(relay.syncUrl, 'clinic-a', 'tab-a2') // enrolled by clinic A's admin
    try {
      const other = await a2.register(relay, b.directory.url)
      expect([other.status, (other.body as { error: { name: string } }).error.name]).toEqual([
        409,
        'RegistrationConflictError',
      ])
    } finally {
      await a2.close()
    }
    // a device enrolled by some other admin (clinic B's, a stranger's) offering its own admin key: clinic A's keys
    // were pinned at its first registration, so the enrolment does not verify
    const asA = new TestDevice(relay.syncUrl, 'clinic-a', 'tab-b-as-a', generateAdminKey())
    try {
      const peer = await asA.register(relay, a.directory.url)
      expect([peer.status, (peer.body as { error: { name: string } }).error.name]).toEqual([
        403,
        'NotEnrolledError',
      ])
    } finally {
      await asA.close()
    }
  })
})
