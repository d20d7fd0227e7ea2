import { isValidAutomergeUrl } from '@automerge/automerge-repo'
import { rootUrlOf } from '@clinic-mesh/store'
import { logEntries } from '@clinic-mesh/ledger'

/** A log's run signatures by first seq, packed ones unpacked (not checked: the run verifier does). */
export function unpackedSignatures(sigs: unknown): Record<string, unknown> {
  if (typeof sigs !== 'object' || sigs === null) return {}
  const keys = Object.keys(sigs)
  const values = logEntries(Object.values(sigs))
  return Object.fromEntries(keys.map((k, i) => [k, values[i]]))
}

/** The valid automerge URLs of a list any member may have written (text or scalars: `rootUrlOf`; else skipped). */
export function validUrls(list: unknown): string[] {
  if (!Array.isArray(list)) return []
  return list.map(rootUrlOf).filter((u): u is string => u !== undefined && isValidAutomergeUrl(u))
}
