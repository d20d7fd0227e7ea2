import { normalize, tokens } from './normalize.js'
import type { PatientSummary } from './summary-codec.js'

export interface SearchOptions {
  /** Most results to return (default 20). */
  limit?: number
}

const SEP = '\u0000'
/** Above this many pending token changes, a full rebuild beats splicing into the sorted array. */
const REBUILD_THRESHOLD = 2_000

function nameTokens(s: PatientSummary): string[] {
  return tokens(`${s.given} ${s.family}`)
}

/** Keys under which two summaries may be the same person: an identifier, or name + birth date + sex. */
export function duplicateKeysOf(s: PatientSummary): string[] {
  const keys = s.identifiers.map((i) => `id:${normalize(i)}`)
  const name = nameTokens(s).sort().join(' ')
  if (name && s.birthDate) keys.push(`nds:${name}|${s.birthDate}|${s.sex}`)
  return keys
}

/**
 * In-memory search over patient summaries: name-token prefix search through one sorted array of
 * `token NUL id` keys (binary search, then a short scan), exact identifier lookup through a map, and
 * duplicate-candidate lookup. Updates are applied lazily: small batches are spliced in, large ones
 * (a new tablet receiving a whole clinic) trigger one sort.
 */
export class PatientIndex {
  readonly #summaries = new Map<string, PatientSummary>()
  readonly #byIdentifier = new Map<string, Set<string>>()
  readonly #byDuplicateKey = new Map<string, Set<string>>()
  #keys: string[] = []
  /** Pending edits of #keys in order: '+key' or '-key'. */
  #pending: string[] = []

  get size(): number {
    return this.#summaries.size
  }

  get(id: string): PatientSummary | undefined {
    return this.#summaries.get(id)
  }

  upsert(s: PatientSummary): void {
    const old = this.#summaries.get(s.id)
    if (old) this.#unlink(old)
    this.#summaries.set(s.id, s)
    for (const t of new Set(nameTokens(s))) this.#pending.push('+' + t + SEP + s.id)
    for (const i of s.identifiers) {
      addTo(this.#byIdentifier, normalize(i), s.id)
      const value = i.slice(i.indexOf('|') + 1)
      addTo(this.#byIdentifier, normalize(value), s.id)
    }
    for (const k of duplicateKeysOf(s)) addTo(this.#byDuplicateKey, k, s.id)
  }

  remove(id: string): void {
    const old = this.#summaries.get(id)
    if (!old) return
    this.#unlink(old)
    this.#summaries.delete(id)
  }

  /** Ids of other patients that share an identifier, or name + birth date + sex, with this one. */
  possibleDuplicatesOf(id: string): string[] {
    const s = this.#summaries.get(id)
    if (!s) return []
    const out = new Set<string>()
    for (const k of duplicateKeysOf(s)) for (const other of this.#byDuplicateKey.get(k) ?? []) out.add(other)
    out.delete(id)
    return [...out]
  }

  /** Every group of two or more summaries sharing a duplicate key. */
  duplicateGroups(): string[][] {
    const groups: string[][] = []
    for (const ids of this.#byDuplicateKey.values()) if (ids.size > 1) groups.push([...ids].sort())
    return groups
  }

  /**
   * The patients holding exactly this identifier (`system|value`, as stored), in search order: an import's "is this
   * patient known" without a name search or sorting the pending name keys.
   */
  withIdentifier(key: string): PatientSummary[] {
    const out: PatientSummary[] = []
    for (const id of this.#byIdentifier.get(normalize(key)) ?? []) {
      const s = this.#summaries.get(id)
      if (s?.identifiers.includes(key)) out.push(s)
    }
    return out.sort(byName)
  }

  /** Search by identifier (exact) or by name-token prefixes ("jo ba" finds John Banda). */
  search(query: string, options: SearchOptions = {}): PatientSummary[] {
    const limit = options.limit ?? 20
    const q = normalize(query.trim())
    if (!q) return []
    this.#flush()
    const hits = new Map<string, PatientSummary>()
    for (const id of this.#byIdentifier.get(q) ?? []) {
      const s = this.#summaries.get(id)
      if (s) hits.set(id, s)
    }
    const qt = tokens(q)
    if (qt.length > 0) {
      const lead = qt.reduce((a, b) => (b.length > a.length ? b : a))
      const rest = qt.filter((t) => t !== lead)
      const cap = Math.max(limit * 10, 200)
      for (let i = lowerBound(this.#keys, lead); i < this.#keys.length && hits.size < cap; i++) {
        const key = this.#keys[i]!
        if (!key.startsWith(lead)) break
        const id = key.slice(key.indexOf(SEP) + 1)
        if (hits.has(id)) continue
        const s = this.#summaries.get(id)
        if (!s) continue
        if (rest.length === 0) {
          hits.set(id, s)
          continue
        }
        const nt = nameTokens(s)
        if (rest.every((r) => nt.some((t) => t.startsWith(r)))) hits.set(id, s)
      }
    }
    return [...hits.values()].sort(byName).slice(0, limit)
  }

  #unlink(old: PatientSummary): void {
    for (const t of new Set(nameTokens(old))) this.#pending.push('-' + t + SEP + old.id)
    for (const i of old.identifiers) {
      removeFrom(this.#byIdentifier, normalize(i), old.id)
      removeFrom(this.#byIdentifier, normalize(i.slice(i.indexOf('|') + 1)), old.id)
    }
    for (const k of duplicateKeysOf(old)) removeFrom(this.#byDuplicateKey, k, old.id)
  }

  #flush(): void {
    if (this.#pending.length === 0) return
    if (this.#pending.length > REBUILD_THRESHOLD) {
      const keys: string[] = []
      for (const s of this.#summaries.values())
        for (const t of new Set(nameTokens(s))) keys.push(t + SEP + s.id)
      keys.sort()
      this.#keys = keys
    } else {
      for (const edit of this.#pending) {
        const k = edit.slice(1)
        const i = lowerBound(this.#keys, k)
        const present = this.#keys[i] === k
        if (edit[0] === '-' && present) this.#keys.splice(i, 1)
        else if (edit[0] === '+' && !present) this.#keys.splice(i, 0, k)
      }
    }
    this.#pending = []
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** Family, given, id: plain code-unit order (localeCompare costs ~10× more on a large result set). */
function byName(a: PatientSummary, b: PatientSummary): number {
  return cmp(a.family, b.family) || cmp(a.given, b.given) || cmp(a.id, b.id)
}

function lowerBound(arr: string[], key: string): number {
  let lo = 0
  let hi = arr.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (arr[mid]! < key) lo = mid + 1
    else hi = mid
  }
  return lo
}

function addTo(map: Map<string, Set<string>>, key: string, id: string): void {
  let set = map.get(key)
  if (!set) map.set(key, (set = new Set()))
  set.add(id)
}

function removeFrom(map: Map<string, Set<string>>, key: string, id: string): void {
  const set = map.get(key)
  if (!set) return
  set.delete(id)
  if (set.size === 0) map.delete(key)
}
