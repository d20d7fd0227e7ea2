import { createHash } from 'node:crypto'
import * as A from '@automerge/automerge'
import type { DocHandle, DocumentId } from '@automerge/automerge-repo'
import type { ClinicId, DeviceId, DocUrl, LocationId, UserId } from '@clinic-mesh/contracts'
import type { DeviceLogDoc } from '@clinic-mesh/ledger'
import { DeviceLog, appendOperation, newLogDoc, periodOf } from '@clinic-mesh/ledger'
import type { Relay } from '@clinic-mesh/relay'
import { createTestClinic, eventually } from '@clinic-mesh/testing'
import { describe, expect, it } from 'vitest'
import { receive, settlerInstances } from './settler-fixture.js'

// A settler opening a clinic (a takeover) leaves past-day logs whose every operation its checkpoint counts as
// ingested dormant: mapped to the clinic, not opened. One is opened and read when the repo opens it (a device syncs
// it here) or another instance stores a change of it; one holding an operation not ingested is opened at once.

const CLINIC = 'dormant-a'
const DAY = 86_400_000
const { start, stop, db } = settlerInstances()

const idOf = (url: string): DocumentId => url.replace('automerge:', '') as DocumentId
const decided = (r: Relay): number | undefined => r.watcher(CLINIC)?.publisher?.inventory.doc().decidedOps

describe('past logs at a settler open', () => {
  it('stay dormant when settled, and are opened and settled when they change', async () => {
    const a = await start()
    const dir = createTestClinic(a.repo, CLINIC)
    // three devices whose one log is of a past day (5, 4 and 3 days ago: each was offline since, its clock there),
    // and one with today's log; an operation each
    const ago = [5, 4, 3, 0]
    const urls: string[] = []
    const logs: DeviceLog[] = []
    for (const [i, days] of ago.entries()) {
      const device = `${CLINIC}-tab${i}` as DeviceId
      const wall = Date.now() - days * DAY
      const session = { user: 'u' as UserId, role: 'pharmacist' as const, site: 'site-a' as LocationId }
      const log = new DeviceLog({ device, session, now: () => wall })
      const period = periodOf(wall)
      const h = a.repo.create<DeviceLogDoc>(newLogDoc(CLINIC as ClinicId, device, period))
      h.change((d) => appendOperation(d, log.append(receive(i))))
      urls.push(h.url)
      logs.push(log)
      dir.change((d) => {
        d.ledgerLogs[device] = { [period]: h.url as string as DocUrl }
      })
    }
    const entry = { clinic: CLINIC, directoryUrl: dir.url, peers: [], registeredAt: new Date().toISOString() }
    await db().query('INSERT INTO relay_clinics (clinic, entry) VALUES ($1, $2)', [
      CLINIC,
      JSON.stringify(entry),
    ])
    await a.openWatcher(CLINIC, 10_000)
    await eventually(() => decided(a) === 4, { timeoutMs: 10_000, what: 'settled by A' })
    await a.repo.flush()
    const [p1, p2, p3] = urls.map(idOf) as [DocumentId, DocumentId, DocumentId, DocumentId]
    const b = await start()
    const c = await start()
    await stop(a) // its last checkpoint counts every operation of every log as ingested; its lease is freed

    // the third past log gains an operation no settler ingested (stored as a device's sync would store it)
    const { rows } = await db().query<{ data: Buffer }>(
      'SELECT data FROM automerge_chunks WHERE key[1] = $1 ORDER BY seq',
      [p3],
    )
    let stored = A.init<DeviceLogDoc>()
    for (const r of rows) stored = A.loadIncremental(stored, new Uint8Array(r.data))
    const heads = A.getHeads(stored)
    stored = A.change(stored, (d) => appendOperation(d, logs[2]!.append(receive(10))))
    const chunk = A.saveSince(stored, heads)
    const hash = createHash('sha256').update(chunk).digest('hex')
    await db().query('INSERT INTO automerge_chunks (key, data) VALUES ($1, $2)', [
      [p3, 'incremental', hash],
      Buffer.from(chunk),
    ])

    // B takes the clinic (its devices failed over to it): the unsettled past log is opened and settled at once ...
    await b.openWatcher(CLINIC, 10_000)
    await eventually(() => b.watcher(CLINIC)?.settlement.settler && decided(b) === 5, {
      timeoutMs: 10_000,
      what: 'the unsettled past log settled by B',
    })
    // ... the settled ones are not opened
    expect(b.watcher(CLINIC)!.dormant.size).toBe(2)
    expect(b.repo.handles[p1]).toBeUndefined()
    expect(b.repo.handles[p2]).toBeUndefined()
    expect(b.repo.handles[p3]).toBeDefined()

    // a device syncing a past log to B: the repo opens it, B reads it and settles what it brings
    const h1 = await b.repo.find<DeviceLogDoc>(p1)
    h1.change((d) => appendOperation(d, logs[0]!.append(receive(11))))
    await eventually(() => decided(b) === 6, { timeoutMs: 10_000, what: 'a past log changed on B settled' })
    expect(b.watcher(CLINIC)!.dormant.size).toBe(1)

    // an operation appended to a past log through another instance: its storage notice wakes the log on B
    const h2: DocHandle<DeviceLogDoc> = await c.repo.find<DeviceLogDoc>(p2)
    h2.change((d) => appendOperation(d, logs[1]!.append(receive(12))))
    await eventually(() => decided(b) === 7, {
      timeoutMs: 10_000,
      what: 'a past log changed on C settled by B',
    })
    expect(b.watcher(CLINIC)!.dormant.size).toBe(0)
    expect(b.watcher(CLINIC)!.settlement.meta.cursors[urls[1]!]).toBe(2)
  }, 60_000)
})
