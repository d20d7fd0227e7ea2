import { randomUUID } from 'node:crypto'
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes'

export interface BundleOptions {
  /** The server's FHIR base (e.g. `http://127.0.0.1:8080/fhir`): entries get `${base}/${type}/${id}` as fullUrl. */
  readonly base: string
  /** The Bundle's time (default now). */
  readonly timestamp?: string
}

export function fullUrl(base: string, r: Resource): string {
  return `${base.replace(/\/$/, '')}/${r.resourceType}/${r.id ?? ''}`
}

/**
 * `Patient/$everything` as a searchset Bundle: the Patient as the match, everything else included (FHIR R4
 * operation-patient-everything).
 */
export function everythingBundle(resources: readonly Resource[], options: BundleOptions): Bundle {
  const entry: BundleEntry[] = resources.map((r) => ({
    fullUrl: fullUrl(options.base, r),
    resource: r,
    search: { mode: r.resourceType === 'Patient' && r === resources[0] ? 'match' : 'include' },
  }))
  return {
    resourceType: 'Bundle',
    id: randomUUID(),
    meta: { lastUpdated: options.timestamp ?? new Date().toISOString() },
    type: 'searchset',
    total: 1,
    timestamp: options.timestamp ?? new Date().toISOString(),
    entry,
  }
}
