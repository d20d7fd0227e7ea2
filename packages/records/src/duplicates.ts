import { linkGroups } from './links.js'
import { summarize } from './summary.js'
import type { Chart, ChartCollection, PatientLink, PatientSummary } from './types.js'

/** Lower-case, diacritics stripped, letters/digits only, tokens sorted (so "Banda Grace" = "Grace Banda"). */
export function normalizeName(given: string, family: string): string {
  const text = `${given} ${family}`.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase()
  return text
    .split(/[^\p{L}\p{N}]+/u)
    .filter((t) => t !== '')
    .sort()
    .join(' ')
}

function normalizeIdentifier(key: string): string {
  const bar = key.indexOf('|')
  const system = key.slice(0, bar).trim().toLowerCase()
  const value = key
    .slice(bar + 1)
    .toUpperCase()
    .replace(/[\s\-./]/g, '')
  return `${system}|${value}`
}

/**
 * Normalized keys under which two summaries of the same person collide: one per identifier (`id:system|VALUE`),
 * and `nbs:` normalized name + birth date + sex. Usable across documents/shards with a plain hash map.
 */
export function duplicateKeys(summary: PatientSummary): string[] {
  const keys = summary.identifiers.filter((k) => k.includes('|')).map((k) => `id:${normalizeIdentifier(k)}`)
  const name = normalizeName(summary.given, summary.family)
  if (name && summary.birthDate) keys.push(`nbs:${name}|${summary.birthDate}|${summary.sex}`)
  return keys
}

export interface DuplicateCandidate {
  /** The two patient ids, `a < b`. */
  a: string
  b: string
  /** Why: `identifier system|value` and/or `name+birthDate+sex`. */
  reasons: string[]
}

function reasonOf(key: string): string {
  return key.startsWith('id:') ? `identifier ${key.slice(3)}` : 'name+birthDate+sex'
}

/**
 * Pairs of charts that may be the same person, except pairs already joined by active links (directly or through
 * other linked charts). Accepts a collection (its links are used) or a charts map (plus optional links).
 */
export function findPossibleDuplicates(
  source: ChartCollection | { [patientId: string]: Chart },
  links?: { [id: string]: PatientLink },
): DuplicateCandidate[] {
  const isCollection = 'charts' in source && typeof source.charts === 'object' && 'schema' in source
  const charts = isCollection ? (source as ChartCollection).charts : (source as { [id: string]: Chart })
  const groups = linkGroups(links ?? (isCollection ? (source as ChartCollection).links : {}))
  const byKey = new Map<string, string[]>()
  for (const [id, chart] of Object.entries(charts)) {
    for (const key of duplicateKeys(summarize(chart))) {
      const ids = byKey.get(key)
      if (ids) ids.push(id)
      else byKey.set(key, [id])
    }
  }
  const pairs = new Map<string, DuplicateCandidate>()
  for (const [key, ids] of byKey) {
    if (ids.length < 2) continue
    ids.sort()
    for (let i = 0; i < ids.length; i++) {
      for (let j = i + 1; j < ids.length; j++) {
        const a = ids[i]!
        const b = ids[j]!
        const ga = groups.get(a)
        if (ga !== undefined && ga === groups.get(b)) continue
        const pk = `${a}\u0000${b}`
        const reason = reasonOf(key)
        const found = pairs.get(pk)
        if (!found) pairs.set(pk, { a, b, reasons: [reason] })
        else if (!found.reasons.includes(reason)) found.reasons.push(reason)
      }
    }
  }
  return [...pairs.values()].sort((x, y) => (x.a === y.a ? (x.b < y.b ? -1 : 1) : x.a < y.a ? -1 : 1))
}
