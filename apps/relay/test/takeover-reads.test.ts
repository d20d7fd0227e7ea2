import * as A from '@automerge/automerge'
import type { DocHandle, DocumentId } from '@automerge/automerge-repo'
import type {
  ClinicId,
  DeviceId,
  DocUrl,
  LocationId,
  SettledInventoryDoc,
  UserId,
} from '@clinic-mesh/contracts'
import type { DeviceLogDoc, OperationBody } from '@clinic-mesh/ledger'
import { DeviceLog, appendOperation, newLogDoc, periodOf, verifySettledInventory } from '@clinic-mesh/ledger'
import type { Relay } from '@clinic-mesh/relay'
import { createTestClinic, eventually } from '@clinic-mesh/testing'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { receive, settlerInstances } from './settler-fixture.js'

// A takeover is a cold open of every clinic the dead instance settled: its checkpoint, published documents,
// directory and logs read from PostgreSQL. The documents the checkpoint names are read in one query (was two per
// document, and the published documents twice), and the published documents are made from what was read: the new
// settler's next write to them is only its changes, and storage then holds everything it settled, once.

const CLINICS = ['takeover-a', 'takeover-b', 'takeover-c']
const { start, stop, db } = settlerInstances()
const logs = new Map<string, { log: DeviceLog; url: string }>()

function append(h: DocHandle<DeviceLogDoc>, log: DeviceLog, body: OperationBody): void {
  h.change((d) => appendOperation(d, log.append(body)))
}

const decided = (relay: Relay, clinic: string): number | undefined =>
  relay.watcher(clinic)?.publisher?.inventory.doc().decidedOps

describe('a takeover of clinics another instance settled', () => {
  it('reads each clinic in a few queries, settles what came after, and stores it once', async () => {
    const a = await start()
    for (const clinic of CLINICS) {
      const dir = createTestClinic(a.repo, clinic)
      const device = `${clinic}-tab` as DeviceId
      const log = new DeviceLog({
        device,
        session: { user: 'u' as UserId, role: 'pharmacist', site: 'site-a' as LocationId },
      })
      const period = periodOf(Date.now())
      const h = a.repo.create<DeviceLogDoc>(newLogDoc(clinic as ClinicId, device, period))
      dir.change((d) => {
        d.ledgerLogs[device] = { [period]: h.url as string as DocUrl }
      })
      logs.set(clinic, { log, url: h.url })
      const entry = { clinic, directoryUrl: dir.url, peers: [], registeredAt: new Date().toISOString() }
      await db().query('INSERT INTO relay_clinics (clinic, entry) VALUES ($1, $2)', [
        clinic,
        JSON.stringify(entry),
      ])
      append(h, log, receive(1))
      append(h, log, receive(2))
      await a.openWatcher(clinic, 10_000)
    }
    for (const clinic of CLINICS)
      await eventually(() => decided(a, clinic) === 2, { timeoutMs: 10_000, what: `${clinic} settled by A` })
    await a.repo.flush()
    const b = await start()
    await stop(a) // its leases freed at once

    // B opens every clinic as its settler, as when their devices fail over to it: count its reads of documents
    const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown }
    const query = proto.query
    let chunkReads = 0
    proto.query = function (this: unknown, ...args: unknown[]) {
      const q = args[0] as string | { text?: string }
      const text = typeof q === 'string' ? q : (q?.text ?? '')
      if (/^\s*SELECT[\s\S]*automerge_chunks/.test(text)) chunkReads++
      return query.apply(this, args)
    }
    try {
      await Promise.all(CLINICS.map((c) => b.openWatcher(c, 10_000)))
      for (const clinic of CLINICS)
        await eventually(() => b.watcher(clinic)?.settlement.settler && decided(b, clinic) === 2, {
          timeoutMs: 10_000,
          what: `${clinic} open on B`,
        })
    } finally {
      proto.query = query
    }
    // the directory, log, inventory and conflict queue in one read; the records root (named by the directory) in one,
    // its shard and bucket in one. Before: two reads per document and the published ones twice more (20 a clinic),
    // then the records layout still two reads per document (7 a clinic).
    expect(chunkReads / CLINICS.length).toBeLessThanOrEqual(3)

    // a device's next operation, through B's copy of its log: settled once, and storage holds it
    for (const clinic of CLINICS) {
      const { log, url } = logs.get(clinic)!
      const id = url.replace('automerge:', '') as DocumentId
      append(b.repo.handles[id] as DocHandle<DeviceLogDoc>, log, receive(3))
    }
    for (const clinic of CLINICS)
      await eventually(() => decided(b, clinic) === 3, { timeoutMs: 10_000, what: `${clinic} settled by B` })
    const inventories = CLINICS.map((c) => b.watcher(c)!.publisher!.inventory.documentId)
    await stop(b)
    for (const [i, clinic] of CLINICS.entries()) {
      const invId = inventories[i]
      const { rows } = await db().query<{ data: Buffer }>(
        'SELECT data FROM automerge_chunks WHERE key[1] = $1 ORDER BY seq',
        [invId],
      )
      let stored = A.init<SettledInventoryDoc>()
      for (const r of rows) stored = A.loadIncremental(stored, new Uint8Array(r.data))
      // its state and signature stored as scalars (one op each a round), not text (an op per character for good)
      expect(A.isImmutableString(stored.state)).toBe(true)
      expect(A.isImmutableString(stored.relaySignature?.signature)).toBe(true)
      const plain = JSON.parse(JSON.stringify(stored)) as SettledInventoryDoc
      expect(plain.decidedOps).toBe(3)
      expect(verifySettledInventory(plain, { relayKey: b.relayKey, clinic }).ok).toBe(true)
    }
  }, 60_000)
})
