import type {
  BatchId,
  DeviceId,
  EncounterId,
  ItemId,
  LocationId,
  OperationId,
  PatientId,
  PrescriptionId,
  UserId,
} from '@clinic-mesh/contracts'
import type { DeviceLogDoc, OperationBody, Session } from '@clinic-mesh/ledger'
import { appendOperation, DeviceLog, logOps } from '@clinic-mesh/ledger'
import type { Actor, ChartCollection } from '@clinic-mesh/records'
import {
  SEVERITIES,
  SEXES,
  openEncounter,
  recordAllergy,
  recordVitals,
  registerPatient,
  setAllergySeverity,
  spliceNotes,
} from '@clinic-mesh/records'
import { shardOf } from '@clinic-mesh/store'
import type { Knowledge } from './knowledge.js'
import { knowledgeOf } from './knowledge.js'
import type { Replica } from './replica.js'
import type { Rng } from './rng.js'
import type { World } from './world.js'

export const SITE = 'site-a' as LocationId
const WORDS = [
  'cough',
  'fever',
  'rash',
  'pain',
  'chest clear',
  'BP ok',
  'review 2/7',
  'no allergy',
  ' ',
  '\n',
]

/** Deterministic id source shared by the whole simulated world. */
export class Ids {
  #n = 0
  next(prefix: string): string {
    return `${prefix}-${(++this.#n).toString(36)}`
  }
}

export interface Env {
  readonly world: World
  readonly rng: Rng
  readonly ids: Ids
  readonly buckets: number
  /** Simulated true time (ms); devices see it through their skew. */
  readonly time: () => number
}

export function bucketOf(patient: string, buckets: number): string {
  return `bucket-${shardOf(patient, buckets)}`
}

/** A tablet: a replica plus the ledger chain it writes (resumed from what it persisted after a crash). */
export class DeviceNode {
  readonly replica: Replica
  readonly env: Env
  skew: number
  readonly session: Session
  #log: DeviceLog

  constructor(env: Env, replica: Replica, skew: number) {
    this.env = env
    this.replica = replica
    this.skew = skew
    this.session = { user: `usr-${replica.name}` as UserId, role: 'pharmacist', site: SITE }
    this.#log = this.#resume()
  }

  get logId(): string {
    return `log-${this.replica.name}`
  }

  now(): number {
    return this.env.time() + this.skew
  }

  actor(): Actor {
    return {
      user: this.session.user,
      device: this.replica.name as DeviceId,
      at: new Date(this.now()).toISOString(),
    }
  }

  /** After a restart: continue the chain from the last operation that reached storage. */
  restart(): void {
    this.replica.restart()
    this.#log = this.#resume()
  }

  #resume(): DeviceLog {
    const ops = logOps(this.replica.doc<DeviceLogDoc>(this.logId))
    const last = ops[ops.length - 1]
    const resume = last ? { seq: last.seq, prev: last.hash, hlc: { ...last.hlc } } : undefined
    return new DeviceLog({
      device: this.replica.name as DeviceId,
      session: this.session,
      now: () => this.now(),
      resume,
    })
  }

  /** Append one ledger operation to this device's log document (acknowledged at the next flush). */
  append(body: OperationBody, k: Knowledge): void {
    if (k.latest) this.#log.observe(k.latest)
    const op = this.#log.append(body, this.env.ids.next('op') as OperationId)
    const name = this.replica.name
    this.replica.change<DeviceLogDoc>(this.logId, this.now(), (d) => {
      appendOperation(d, op)
      return [{ kind: 'op', doc: this.logId, key: op.id, replica: name }]
    })
  }

  /** One random user action. */
  act(): void {
    const rng = this.env.rng
    const k = knowledgeOf(this.replica)
    const roll = rng.next()
    if (roll < 0.15 || k.patients.length === 0) this.#register()
    else if (roll < 0.5) this.#editChart(k)
    else if (roll < 0.6) this.#receive(k)
    else if (roll < 0.89) this.#dispense(k)
    else if (roll < 0.94) this.#count(k)
    else this.#return(k)
  }

  #register(): void {
    const { rng, ids, buckets } = this.env
    const pid = ids.next('pt') as PatientId
    const bucket = bucketOf(pid, buckets)
    const actor = this.actor()
    this.replica.change<ChartCollection>(bucket, this.now(), (d) => {
      const given = rng.pick(['Grace', 'Joseph', 'Amina', 'Peter', 'Ruth'])!
      const sex = rng.pick(SEXES)!
      registerPatient(
        d,
        {
          id: pid,
          given,
          family: 'Banda',
          birthDate: `19${rng.range(40, 99)}-0${rng.range(1, 9)}-1${rng.range(0, 9)}`,
          sex,
        },
        actor,
      )
      const chart = d.charts[pid]!
      openEncounter(chart, { id: `enc-${pid}` as EncounterId, reason: 'fever and cough' }, actor)
      recordAllergy(chart, { substance: 'penicillin', severity: 'mild' }, actor)
      return [{ kind: 'patient', doc: bucket, key: pid, replica: this.replica.name }]
    })
  }

  #editChart(k: Knowledge): void {
    const { rng, buckets } = this.env
    const pid = rng.pick(k.patients)!
    const bucket = bucketOf(pid, buckets)
    const eid = `enc-${pid}`
    const chart = this.replica.doc<ChartCollection>(bucket).charts[pid]!
    const actor = this.actor()
    const what = rng.int(4)
    const name = this.replica.name
    this.replica.change<ChartCollection>(bucket, this.now(), (d) => {
      const c = d.charts[pid]!
      if (what === 0) {
        const vid = recordVitals(
          c,
          eid,
          { temperatureC: 36 + rng.int(40) / 10, pulseBpm: rng.range(50, 140) },
          actor,
        )
        return [{ kind: 'vitals', doc: bucket, key: `${pid}/${eid}/${vid}`, replica: name }]
      }
      if (what === 1) {
        const len = chart.encounters[eid]!.clinician.notes.length
        const at = rng.int(len + 1)
        const del = rng.chance(0.3) ? Math.min(rng.range(1, 5), len - at) : 0
        spliceNotes(c, eid, at, del, rng.pick(WORDS)!, actor)
      } else if (what === 2) {
        const allergy = rng.pick(Object.keys(chart.patient.allergies).sort())
        if (allergy) setAllergySeverity(c, allergy, rng.pick(SEVERITIES)!, actor)
      } else {
        recordAllergy(
          c,
          { substance: rng.pick(['sulfa', 'latex', 'aspirin'])!, severity: rng.pick(SEVERITIES)! },
          actor,
        )
      }
      return []
    })
  }

  #receive(k: Knowledge): void {
    const { rng, ids } = this.env
    const item = rng.pick([...k.prices.keys()].sort())
    if (!item) return
    const expiry = rng.chance(0.08) ? '2026-03-01' : `2027-0${rng.range(1, 9)}-28`
    const body: OperationBody = {
      kind: 'receive',
      item: item as ItemId,
      batch: ids.next('lot') as BatchId,
      expiry,
      quantity: rng.range(10, 40),
      unitCost: rng.range(20, 400),
      supplier: 'KEMSA',
      grn: ids.next('grn'),
    }
    this.append(body, k)
  }

  #dispense(k: Knowledge): void {
    const { rng, ids } = this.env
    const stocked = k.lots.filter((l) => l.tentative > 0 && k.prices.has(l.item))
    const lot = rng.chance(0.9) ? rng.pick(stocked) : rng.pick(k.lots.filter((l) => k.prices.has(l.item)))
    if (!lot) return
    const price = k.prices.get(lot.item)!.price
    const quantity = rng.chance(0.35) && lot.tentative > 0 ? lot.tentative : rng.range(1, 8)
    const body: OperationBody = {
      kind: 'dispense',
      item: lot.item as ItemId,
      batch: lot.batch as BatchId,
      quantity,
      patient: (rng.pick(k.patients) ?? 'walk-in') as PatientId,
      prescription: ids.next('rx') as PrescriptionId,
      prescriptionHash: 'sim-rx-hash',
      priceSeen: price,
      stockSeen: lot.tentative,
    }
    this.append(body, k)
  }

  #count(k: Knowledge): void {
    const lot = this.env.rng.pick(k.lots)
    if (!lot) return
    const counted = Math.max(0, lot.tentative - this.env.rng.int(3))
    this.append(
      {
        kind: 'count',
        item: lot.item as ItemId,
        batch: lot.batch as BatchId,
        counted,
        stockSeen: lot.tentative,
      },
      k,
    )
  }

  #return(k: Knowledge): void {
    const d = this.env.rng.pick(k.dispenses.filter((x) => x.device === this.replica.name))
    if (!d) return
    this.append(
      {
        kind: 'return',
        item: d.item as ItemId,
        batch: d.batch as BatchId,
        quantity: 1,
        dispense: d.id as OperationId,
        reason: 'unused',
      },
      k,
    )
  }
}
