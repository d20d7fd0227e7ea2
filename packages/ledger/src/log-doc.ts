import type { ImmutableString } from '@automerge/automerge'
import type { ClinicId, DeviceId } from '@clinic-mesh/contracts'
import { InvalidOperationError } from './errors.js'
import type { Operation } from './operation.js'
import { lastLogOp, packFor } from './log-entries.js'

/** The schema of a new log: operations and run signatures packed (log-entries.ts). Schema 1 logs are still read. */
export const LOG_DOC_SCHEMA = 2
/** Schemas this version reads and appends to (an append keeps the document's own form). */
export const LOG_DOC_SCHEMAS: readonly number[] = [1, 2]

/** An operation as a log stores it: packed (schema 2) or a map (schema 1). Read with `logOps`. */
export type LogEntry = Operation | ImmutableString
/** A run signature as a log stores it. Read with `logSignatures`. */
export type SignatureEntry = RunSignature | ImmutableString

/**
 * One Automerge document per device per period (UTC day): only that device appends to `ops`, so merging copies
 * received from peers never interleaves or reorders its entries (single writer, append-only list).
 */
// A type alias (not an interface) so it satisfies Automerge's `Record<string, unknown>` constraint.
export type DeviceLogDoc = {
  schema: number
  clinic: ClinicId
  device: DeviceId
  period: string // YYYY-MM-DD (UTC)
  ops: LogEntry[]
  /**
   * Signatures over runs of `ops` (one user's consecutive operations, at most RUN_MAX long), keyed by the run's first
   * seq. The device re-signs its current run on every append (same Automerge change as the op), so the newest entry
   * covers every op of the run through the hash chain and a verifier checks one entry per run.
   */
  signatures?: { [firstSeq: string]: SignatureEntry }
}

/** A signed run: the summary `@clinic-mesh/security` `signBatch` signs, plus the signing device's libp2p peer id. */
export type RunSignature = {
  v: 1
  /** libp2p peer id of the device (its Ed25519 public key), enrolled in the clinic's membership. */
  signer: string
  device: string
  user: string
  firstSeq: number
  count: number
  firstPrev: string | null
  lastHash: string
  userSignature: string
  deviceSignature: string
}

/** Longest run one signature covers (bounds the re-hashing a device does per append). */
export const RUN_MAX = 256

/** The period (UTC day) an HLC wall time falls in. */
export function periodOf(wall: number): string {
  return new Date(wall).toISOString().slice(0, 10)
}

/** Initial content for a new period's log document (pass to `Automerge.from`). */
export function newLogDoc(clinic: ClinicId, device: DeviceId, period: string): DeviceLogDoc {
  return { schema: LOG_DOC_SCHEMA, clinic, device, period, ops: [] }
}

/**
 * Append inside `Automerge.change(doc, (d) => appendOperation(d, op))`. Refuses an operation of another device,
 * of another period, or one that does not continue the chain already in the document.
 */
export function appendOperation(draft: DeviceLogDoc, op: Operation): void {
  if (!LOG_DOC_SCHEMAS.includes(draft.schema))
    throw new InvalidOperationError('bad-schema', `log schema ${draft.schema}`)
  if (op.device !== draft.device) {
    throw new InvalidOperationError(
      'wrong-device',
      `op of ${op.device} in the log of ${draft.device}`,
      'device',
    )
  }
  if (periodOf(op.hlc.wall) !== draft.period) {
    throw new InvalidOperationError(
      'wrong-period',
      `op of ${periodOf(op.hlc.wall)} in log ${draft.period}`,
      'hlc',
    )
  }
  const last = lastLogOp(draft)
  if (last && (op.seq !== last.seq + 1 || op.prev !== last.hash)) {
    throw new InvalidOperationError('bad-chain', `op seq ${op.seq} does not follow seq ${last.seq}`, 'prev')
  }
  draft.ops.push(packFor(draft.schema, op))
}
