import type {
  BatchId,
  DeviceId,
  ItemId,
  LocationId,
  OperationId,
  PatientId,
  PrescriptionId,
  Role,
  UserId,
} from '@clinic-mesh/contracts'
import type { Approval, Decision, Operation, SettlementEngine } from '@clinic-mesh/ledger'
import { DeviceLog } from '@clinic-mesh/ledger'

export const T0 = Date.parse('2026-03-02T08:00:00Z')
export const SITE_A = 'site-a' as LocationId
export const SITE_B = 'site-b' as LocationId
export const PARACETAMOL = 'item-paracetamol' as ItemId
export const MORPHINE = 'item-morphine' as ItemId
export const LOT1 = 'lot-1' as BatchId
export const LOT2 = 'lot-2' as BatchId
export const RX = 'rx-1' as PrescriptionId
export const RX_HASH_V1 = 'rxhash-v1'
export const PATIENT = 'pt-1' as PatientId

/** A shared fake wall clock: every device reads it, tests advance it. */
export class FakeTime {
  t = T0
  now = (): number => this.t
  advance(ms: number): void {
    this.t += ms
  }
}

export function device(
  name: string,
  time: FakeTime,
  role: Role = 'pharmacist',
  site: LocationId = SITE_A,
): DeviceLog {
  return new DeviceLog({
    device: `dev-${name}` as DeviceId,
    session: { user: `user-${name}` as UserId, role, site },
    now: time.now,
  })
}

let counter = 0
/** Deterministic idempotency ids (tests must be reproducible). */
export function opId(): OperationId {
  return `op-${++counter}` as OperationId
}

export function formulary(
  log: DeviceLog,
  item: ItemId,
  price: number,
  opts: { controlled?: boolean; status?: 'active' | 'withdrawn' } = {},
): Operation {
  return log.append(
    {
      kind: 'formulary-update',
      item,
      name: item,
      price,
      status: opts.status ?? 'active',
      controlled: opts.controlled ?? false,
    },
    opId(),
  )
}

export function receive(
  log: DeviceLog,
  item: ItemId,
  batch: BatchId,
  quantity: number,
  expiry = '2027-12-31',
  unitCost = 100,
): Operation {
  return log.append(
    { kind: 'receive', item, batch, expiry, quantity, unitCost, supplier: 'supplier-1', grn: `grn-${batch}` },
    opId(),
  )
}

export function dispense(
  log: DeviceLog,
  item: ItemId,
  batch: BatchId | null,
  quantity: number,
  seen: { price: number; stock: number; rxHash?: string },
): Operation {
  return log.append(
    {
      kind: 'dispense',
      item,
      batch,
      quantity,
      patient: PATIENT,
      prescription: RX,
      prescriptionHash: seen.rxHash ?? RX_HASH_V1,
      priceSeen: seen.price,
      stockSeen: seen.stock,
    },
    opId(),
  )
}

export function resolve(
  log: DeviceLog,
  conflict: string,
  decision: Decision,
  approval: Approval | null = null,
): Operation {
  return log.append(
    { kind: 'resolution', conflict: conflict as never, decision, note: 'reviewed', approval },
    opId(),
  )
}

/** Ingest and settle one round. */
export function run(
  engine: SettlementEngine,
  ops: readonly Operation[],
): ReturnType<SettlementEngine['settle']> {
  engine.ingest(ops)
  return engine.settle()
}
