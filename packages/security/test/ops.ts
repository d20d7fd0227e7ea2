import { type ChainedOp, hashOp } from '@clinic-mesh/security'

/** A ledger-shaped dispense operation (same header fields as `@clinic-mesh/ledger`'s Operation). */
export interface TestOp extends ChainedOp {
  readonly v: number
  readonly id: string
  readonly role: string
  readonly site: string
  readonly hlc: { readonly wall: number; readonly counter: number; readonly node: string }
  readonly kind: 'dispense'
  readonly item: string
  readonly batch: string | null
  readonly quantity: number
  readonly patient: string
  readonly prescription: string
  readonly prescriptionHash: string
  readonly priceSeen: number
  readonly stockSeen: number
}

/** `count` chained ops of one device and user, starting after `prev` at `firstSeq`. */
export function makeOps(
  count: number,
  opts: { device?: string; user?: string; firstSeq?: number; prev?: string | null } = {},
): TestOp[] {
  const device = opts.device ?? 'dev_tablet3'
  const user = opts.user ?? 'u_pharm'
  let prev = opts.prev ?? null
  const ops: TestOp[] = []
  for (let i = 0; i < count; i++) {
    const seq = (opts.firstSeq ?? 1) + i
    const body = {
      v: 1,
      id: `op_${device}_${seq}`,
      device,
      user,
      role: 'pharmacist',
      site: 'loc_main',
      hlc: { wall: 1_767_600_000_000 + seq, counter: 0, node: device },
      seq,
      prev,
      kind: 'dispense' as const,
      item: 'item_amoxicillin_500',
      batch: null,
      quantity: 1 + (seq % 20),
      patient: `pat_${seq % 97}`,
      prescription: `rx_${seq}`,
      prescriptionHash: 'ab'.repeat(32),
      priceSeen: 120,
      stockSeen: 1000 - seq,
      hash: '',
    }
    const op: TestOp = { ...body, hash: hashOp(body) }
    ops.push(op)
    prev = op.hash
  }
  return ops
}

/** Recomputes hashes from index `from` on, as a forger who rewrites the tail would. */
export function rechain(ops: TestOp[], from: number): TestOp[] {
  const out = ops.slice(0, from)
  for (const op of ops.slice(from)) {
    const prevOp = out[out.length - 1]
    const fixed = { ...op, prev: prevOp ? prevOp.hash : op.prev, hash: '' }
    out.push({ ...fixed, hash: hashOp(fixed) })
  }
  return out
}
