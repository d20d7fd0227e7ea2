import type { AutomergeUrl, DocHandle, PeerId } from '@automerge/automerge-repo'
import { Repo as PlainRepo } from '@automerge/automerge-repo'
import type { ClinicId, DeviceId, DocUrl, LocationId, UserId } from '@clinic-mesh/contracts'
import type { DeviceLogDoc, OperationBody } from '@clinic-mesh/ledger'
import { DeviceLog, appendOperation, newLogDoc, periodOf } from '@clinic-mesh/ledger'
import { CHUNK_TABLE, type Relay } from '@clinic-mesh/relay'
import { PostgresStorageAdapter } from '@clinic-mesh/storage-postgres'
import { createTestClinic, type PostgresCluster } from '@clinic-mesh/testing'
import pg from 'pg'
import { FORMULARY, RECEIPT, dispense } from './scale-clinic.js'

const SETTLE_MS = 120_000

/** One clinic as its devices wrote it: the directory, and per device its log and where its chain stands. */
interface ClinicWriter {
  readonly clinic: string
  readonly directoryUrl: AutomergeUrl
  readonly devices: { log: DeviceLog; url: AutomergeUrl }[]
  /** operations written (every one must come back decided exactly once) */
  written: number
}

export interface TakeoverFixture {
  readonly clinics: readonly ClinicWriter[]
  /** Operations written after the first instance stopped (the takeover settles them). */
  writeMore(perDevice: number): Promise<void>
}

/** Append operations to a device's log document of the period (its first: listed in the directory). */
function append(h: DocHandle<DeviceLogDoc>, log: DeviceLog, bodies: OperationBody[]): void {
  h.change((d) => {
    for (const body of bodies) appendOperation(d, log.append(body))
  })
}

const DAY_MS = 86_400_000

/**
 * N clinics written through one relay instance `a` (over `cluster`): each a directory and records layout
 * (createTestClinic), three devices' ledger logs, settled by `a` in `rounds` rounds of `opsPerRound` dispenses per
 * device (a formulary entry and a receipt first), so its settled inventory, conflict queue and checkpoints hold as many
 * rounds. With `pastDays` D, each device also has a log for each of the D days before yesterday (D+1 to 2 days ago,
 * `opsPerRound` dispenses each, the formulary entry and receipt in the oldest), as a clinic D days old: one log
 * document per device per UTC day. `a` is left running: stop it to free the leases.
 */
export async function writeClinics(
  a: Relay,
  cluster: PostgresCluster,
  n: number,
  rounds: number,
  opsPerRound: number,
  pastDays = 0,
): Promise<TakeoverFixture> {
  const pool = new pg.Pool({ connectionString: cluster.url, max: 4 })
  const clinics: ClinicWriter[] = []
  const handles = new Map<string, DocHandle<DeviceLogDoc>[]>()
  try {
    for (let i = 0; i < n; i++) {
      const clinic = `takeover-${String(i).padStart(4, '0')}`
      const dir = createTestClinic(a.repo, clinic)
      const devices = [0, 1, 2].map((j) => {
        const device = `${clinic}-tab-${j}` as DeviceId
        // the device's clock: in each past day while it writes that day's log, then now
        let past: number | null = null
        const log = new DeviceLog({
          device,
          session: {
            user: `u-${j}` as UserId,
            role: j === 0 ? 'admin' : 'pharmacist',
            site: 'site-a' as LocationId,
          },
          now: () => past ?? Date.now(),
        })
        const logs: Record<string, DocUrl> = {}
        for (let k = pastDays + 1; k >= 2; k--) {
          past = Date.now() - k * DAY_MS
          const period = periodOf(past)
          const h = a.repo.create<DeviceLogDoc>(newLogDoc(clinic as ClinicId, device, period))
          if (j === 0 && k === pastDays + 1) {
            append(h, log, [FORMULARY])
            log.setSession({ ...log.session, role: 'pharmacist' })
            append(h, log, [RECEIPT])
          }
          append(h, log, ops(opsPerRound))
          logs[period] = h.url as string as DocUrl
        }
        past = null
        const period = periodOf(Date.now())
        const h = a.repo.create<DeviceLogDoc>(newLogDoc(clinic as ClinicId, device, period))
        logs[period] = h.url as string as DocUrl
        dir.change((d) => {
          d.ledgerLogs[device] = logs
        })
        return { log, url: h.url, h }
      })
      handles.set(
        clinic,
        devices.map((d) => d.h),
      )
      clinics.push({
        clinic,
        directoryUrl: dir.url,
        devices: devices.map(({ log, url }) => ({ log, url })),
        written: pastDays > 0 ? 2 + 3 * pastDays * opsPerRound : 0,
      })
      const entry = { clinic, directoryUrl: dir.url, peers: [], registeredAt: new Date().toISOString() }
      await pool.query('INSERT INTO relay_clinics (clinic, entry) VALUES ($1, $2)', [
        clinic,
        JSON.stringify(entry),
      ])
    }
    await a.repo.flush()
    for (const c of clinics) {
      if (pastDays === 0) {
        const [h0] = handles.get(c.clinic)!
        const d0 = c.devices[0]!
        append(h0!, d0.log, [FORMULARY])
        d0.log.setSession({ ...d0.log.session, role: 'pharmacist' })
        append(h0!, d0.log, [RECEIPT])
        c.written += 2
      }
      await a.openWatcher(c.clinic, SETTLE_MS)
    }
    await settled(a, clinics)
    for (let r = 0; r < rounds; r++) {
      for (const c of clinics) {
        handles.get(c.clinic)!.forEach((h, j) => append(h, c.devices[j]!.log, ops(opsPerRound)))
        c.written += 3 * opsPerRound
      }
      await settled(a, clinics)
    }
    await a.repo.flush()
  } finally {
    await pool.end()
  }
  return {
    clinics,
    writeMore: async (perDevice) => {
      // the devices' changes since: straight into storage (no relay instance running heard them)
      const repo = new PlainRepo({
        storage: new PostgresStorageAdapter({ connectionString: cluster.url, table: CHUNK_TABLE }),
        network: [],
        peerId: 'takeover-writer' as PeerId,
      })
      for (const c of clinics) {
        for (const d of c.devices) append(await repo.find<DeviceLogDoc>(d.url), d.log, ops(perDevice))
        c.written += 3 * perDevice
      }
      await repo.flush()
      await repo.shutdown()
    },
  }
}

const ops = (k: number): OperationBody[] => Array.from({ length: k }, () => dispense())

/** Until `relay` decided every operation written of every clinic and published it (its inventory says so). */
export async function settled(
  relay: Relay,
  clinics: readonly ClinicWriter[],
  timeoutMs = SETTLE_MS,
): Promise<void> {
  const until = performance.now() + timeoutMs
  for (;;) {
    const behind = clinics.filter((c) => {
      const w = relay.watchers().find((x) => x.clinic === c.clinic)
      return !w?.publisher || w.publisher.inventory.doc().decidedOps !== c.written
    })
    if (behind.length === 0) return
    if (performance.now() > until)
      throw new Error(
        `not settled within ${timeoutMs} ms: ${behind.length} clinics, e.g. ${behind[0]!.clinic}`,
      )
    await new Promise((r) => setTimeout(r, 5))
  }
}
