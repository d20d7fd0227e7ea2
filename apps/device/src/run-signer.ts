import {
  RUN_MAX,
  logOps,
  logSignatures,
  packFor,
  type DeviceLogDoc,
  type Operation,
  type RunSignature,
} from '@clinic-mesh/ledger'
import { signBatch } from '@clinic-mesh/security'

/** The keys that sign a device's stock operations: the logged-in user's and the device's own (libp2p) key. */
export interface RunSigner {
  /** Ed25519 secret key (32 bytes) of the user, unlocked by their password at login. */
  readonly userKey: Uint8Array
  /** Ed25519 secret key (32 bytes) of the device. */
  readonly deviceKey: Uint8Array
  /** The device's libp2p peer id (names its public key; enrolled in the clinic's membership). */
  readonly peerId: string
}

/**
 * Inside the change that appended `op` (the last entry of `draft.ops`): extends the current run's signature when `op`
 * continues it (same user, run shorter than RUN_MAX), else starts a new run at `op`. One signature per run then
 * covers all of it through the hash chain, so the relay verifies runs, not operations.
 */
export function signLatestRun(draft: DeviceLogDoc, op: Operation, signer: RunSigner): void {
  const ops = logOps(draft)
  draft.signatures ??= {}
  const sigs = draft.signatures // read back: the object assigned above is a plain copy, this is the document's map
  let first = ops.length - 1
  const current = Object.values(logSignatures<RunSignature>(draft)).find(
    (s) => s.lastHash === op.prev && s.user === op.user && s.count < RUN_MAX,
  )
  if (current) {
    const at = ops.findIndex((o) => o.seq === current.firstSeq)
    if (at >= 0) first = at
  }
  const run = ops.slice(first).map((o) => JSON.parse(JSON.stringify(o)) as Operation)
  const { ops: _signed, ...summary } = signBatch(run, signer.userKey, signer.deviceKey)
  const entry: RunSignature = { ...summary, v: 1, signer: signer.peerId }
  sigs[String(entry.firstSeq)] = packFor(draft.schema, entry)
}
