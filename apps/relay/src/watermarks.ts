import type { PendingOp } from '@clinic-mesh/ledger'
import type { DeviceProgress } from './settlement-store.js'

/** Note that `seq` of `device` has been ingested. */
export function noteSeq(devices: Record<string, DeviceProgress>, device: string, seq: number): void {
  const p = (devices[device] ??= { contig: 0, ahead: [], maxSeq: 0 })
  if (seq > p.maxSeq) p.maxSeq = seq
  if (seq <= p.contig || p.ahead.includes(seq)) return
  if (seq !== p.contig + 1) {
    p.ahead.push(seq)
    return
  }
  p.contig = seq
  if (p.ahead.length === 0) return
  const ahead = new Set(p.ahead)
  while (ahead.delete(p.contig + 1)) p.contig++
  p.ahead = [...ahead].sort((a, b) => a - b)
}

/**
 * Per device the highest seq such that every operation of that device with seq ≤ it is decided (settled or in
 * conflict): the contiguous ingested prefix, cut below the first operation the engine still holds pending.
 */
export function watermarks(
  devices: Record<string, DeviceProgress>,
  pending: readonly PendingOp[],
): Record<string, number> {
  const firstPending = new Map<string, number>()
  for (const p of pending) {
    const cur = firstPending.get(p.device)
    if (cur === undefined || p.seq < cur) firstPending.set(p.device, p.seq)
  }
  const out: Record<string, number> = {}
  for (const [device, p] of Object.entries(devices)) {
    const fp = firstPending.get(device)
    out[device] = fp === undefined ? p.contig : Math.min(p.contig, fp - 1)
  }
  return out
}
