import type { Role } from '@clinic-mesh/contracts'
import { POLICY, type Action } from './policy.js'

/**
 * The one table of who may read which clinic document and write which field of it over a browser's `/sync`
 * (issue "Authority at the node"). A device node classifies every document by what it knows itself (its clinic
 * directory and records layout), never by the document's content, and checks every operation of every change a
 * browser sends against this table before the change reaches its repo (apps/device `sync-gate`). Devices and the
 * relay write through their own code; this table is about what a signed-in browser may do.
 */
export const DOC_KINDS = [
  'directory',
  'records-root',
  'index-shard',
  'today',
  'chart-bucket',
  'archive',
  'ledger-log',
  'settled-inventory',
  'conflict-queue',
  'membership',
  'users',
  'audit',
] as const
export type DocKind = (typeof DOC_KINDS)[number]

/**
 * `node`: only the device node writes it (derived data, authority records, signatures); `own-peer`: a browser
 * may set the entry keyed by its own repo peer id only (the records root's `bootstrapped` map).
 */
export type WriteAuthority = Action | 'node' | 'own-peer'

export interface FieldRule {
  /** Path pattern: `*` one key, `**` (last) any rest, zero keys included. */
  readonly path: readonly string[]
  readonly may: WriteAuthority
  /** Append-only: may be created, never overwritten or deleted (MAR entries, a chart, an encounter). */
  readonly createOnly?: boolean
  /** Values only the node writes at this path (a prescription's `status: 'signed'`). */
  readonly nodeValues?: readonly string[]
}

const ANY_CLINICAL: readonly Role[] = POLICY['read-chart'].roles

/** Who may receive each kind of document. The rest reaches browsers only through the JSON API, shaped per role. */
export const READ_POLICY: Readonly<Record<DocKind, readonly Role[]>> = {
  directory: [...ANY_CLINICAL, 'admin'],
  'records-root': ANY_CLINICAL,
  'index-shard': ANY_CLINICAL,
  // the day's open visits with their patients' summaries (issue 17 #4): what the shards hold of them, read first
  today: ANY_CLINICAL,
  'chart-bucket': ANY_CLINICAL,
  // closed visits of past years (issue 17 #3): a browser reads an archived visit through /api (audited per patient)
  archive: [],
  // stock reaches the browser through /api/stock (tentative and verified settled figures)
  'ledger-log': [],
  'settled-inventory': [],
  'conflict-queue': [],
  // password verifiers, wrapped keys, enrolments, the audit trail: never to a browser
  membership: [],
  users: [],
  audit: [],
}

const C = ['charts', '*']
const E = [...C, 'encounters', '*']
const P = [...C, 'prescriptions', '*']

/** Every field of a chart bucket (records' ChartCollection). First matching rule decides; no rule → refused. */
const CHART_RULES: readonly FieldRule[] = [
  { path: C, may: 'register-patient', createOnly: true },
  // demographics and the patient's lists
  { path: [...C, 'patient'], may: 'register-patient', createOnly: true },
  { path: [...C, 'patient', 'allergies'], may: 'register-patient', createOnly: true },
  { path: [...C, 'patient', 'problems'], may: 'register-patient', createOnly: true },
  { path: [...C, 'patient', 'allergies', '*', '**'], may: 'record-allergies' },
  { path: [...C, 'patient', 'problems', '*', '**'], may: 'consult' },
  { path: [...C, 'patient', '**'], may: 'register-patient' },
  // the encounter: opened by the front desk or a clinician; each section belongs to its role
  { path: [...C, 'encounters'], may: 'register-patient', createOnly: true },
  { path: E, may: 'open-encounter', createOnly: true },
  { path: [...E, 'registration', 'queue'], may: 'move-queue' },
  { path: [...E, 'registration', 'by', '**'], may: 'move-queue' },
  { path: [...E, 'registration', 'at'], may: 'move-queue' },
  { path: [...E, 'registration', '**'], may: 'register-patient' },
  { path: [...E, 'triage', 'vitals', '*', '**'], may: 'record-vitals' },
  { path: [...E, 'triage', '**'], may: 'record-vitals' },
  { path: [...E, 'clinician', 'notes', '**'], may: 'write-notes' },
  { path: [...E, 'clinician', '**'], may: 'consult' },
  { path: [...E, 'orders', '**'], may: 'consult' },
  // what was handed out: the device node writes it when it accepts a dispense checked against the signed
  // prescription (one road); a browser sets the section's status ("pharmacy done") and note
  { path: [...E, 'pharmacy', 'dispensed', '*', '**'], may: 'node' },
  { path: [...E, 'pharmacy', '**'], may: 'dispense' },
  { path: [...E, '**'], may: 'open-encounter' },
  // prescriptions: drafted by a clinician; signed only through the node's signing route
  { path: [...C, 'prescriptions'], may: 'register-patient', createOnly: true },
  { path: [...P, 'signed', '**'], may: 'node' },
  { path: [...P, 'status'], may: 'draft-prescription', nodeValues: ['signed'] },
  { path: [...P, '**'], may: 'draft-prescription' },
  // medication administration: append-only, a correction is a new entry
  { path: [...C, 'mar'], may: 'register-patient', createOnly: true },
  { path: [...C, 'mar', '*', '**'], may: 'record-mar', createOnly: true },
  { path: ['links', '*', '**'], may: 'link-patients' },
]

/** Per document kind, the fields a browser may write. Kinds not listed here are written by nodes and the relay only. */
export const WRITE_POLICY: Readonly<Record<DocKind, readonly FieldRule[]>> = {
  directory: [],
  'records-root': [{ path: ['bootstrapped', '*'], may: 'own-peer' }],
  // summaries are derived from the charts: the device node refreshes them when a browser's chart change lands
  'index-shard': [],
  // derived from the charts like the shards: a browser opens and closes visits in the chart bucket (open-encounter,
  // move-queue, each section's role), and its device node writes the today entry when that change lands
  today: [],
  'chart-bucket': CHART_RULES,
  // device nodes move closed visits there (and leave `charts.*.archived` stubs, which no rule lets a browser write)
  archive: [],
  'ledger-log': [],
  'settled-inventory': [],
  'conflict-queue': [],
  membership: [],
  users: [],
  audit: [],
}

/** What each action means to the person refused it. */
const WORDS: Partial<Record<Action, string>> = {
  'register-patient': 'register patients or change their details',
  'open-encounter': 'open a visit',
  'move-queue': 'move the patient on in the queue',
  'record-vitals': 'record vital signs',
  'record-allergies': 'record allergies',
  'write-notes': 'write clinical notes',
  consult: "write the clinician's part of the visit (diagnoses, problems, orders)",
  'draft-prescription': 'write prescriptions',
  'record-mar': 'record medicines given',
  dispense: "write the pharmacy's part of the visit",
  'link-patients': 'link duplicate patients',
}
const words = (a: Action): string => WORDS[a] ?? a.replace(/-/g, ' ')

function matches(pattern: readonly string[], path: readonly (string | number)[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]
    if (p === '**' && i === pattern.length - 1) return true
    if (i >= path.length) return false
    if (p !== '*' && p !== String(path[i])) return false
  }
  return pattern.length === path.length
}

export function fieldRule(kind: DocKind, path: readonly (string | number)[]): FieldRule | undefined {
  return WRITE_POLICY[kind].find((r) => matches(r.path, path))
}

export function mayRead(role: Role, kind: DocKind): boolean {
  return READ_POLICY[kind].includes(role)
}

/** One operation of a change, as the gate resolved it: where it writes and how. */
export interface FieldWrite {
  readonly path: readonly (string | number)[]
  /** `overwrite`: replaces or deletes a value that existed (Automerge `pred` not empty, or a delete). */
  readonly overwrite: boolean
  /** The scalar written, when there is one. */
  readonly value?: unknown
}

export type WriteDecision =
  | { readonly allowed: true; readonly action: WriteAuthority }
  | { readonly allowed: false; readonly message: string }

/** Whether a user of `role`, on browser peer `peerId`, may make this one write to a document of `kind`. */
export function decideWrite(role: Role, kind: DocKind, w: FieldWrite, peerId: string): WriteDecision {
  const where = w.path.join('.')
  const rule = fieldRule(kind, w.path)
  if (!rule)
    return {
      allowed: false,
      message: `no one writes ${where || 'the document root'} of a ${kind} document from a browser`,
    }
  if (rule.may === 'node') return { allowed: false, message: `${where} is written by the device node only` }
  if (rule.may === 'own-peer') {
    return String(w.path[w.path.length - 1]) === peerId
      ? { allowed: true, action: 'own-peer' }
      : { allowed: false, message: `${where} belongs to another peer` }
  }
  if (!POLICY[rule.may].roles.includes(role))
    return { allowed: false, message: `a ${role} user may not ${words(rule.may)} (${where})` }
  if (rule.createOnly && w.overwrite)
    return { allowed: false, message: `${where} is append-only: it may be added, never changed or removed` }
  if (rule.nodeValues && typeof w.value === 'string' && rule.nodeValues.includes(w.value)) {
    return { allowed: false, message: `${where} = ${w.value} is set by the device node only` }
  }
  return { allowed: true, action: rule.may }
}

/** Keys under which records keep an actor (`by`, `createdBy`, `signedBy`...: records' `ActorRef`). */
const ACTOR_KEY = /^(by|[a-z]+By)$/

/**
 * The actor rule of a chart bucket: an actor a browser records names the signed-in user (`user`). From collection
 * schema 3 it is one scalar `user device`; the `{user, device}` map of the form before is still taken from a browser
 * that writes it (a page loaded before an upgrade) when its `user` is the signed-in user. Refused: another user's
 * name in either form (a forged author), a malformed value, anything else under an actor, a delete or a replacement
 * of a packed actor by a map. MAR entries are left out: the node's MAR check refuses an entry by anyone else, with its
 * own error (`marEntryProblem`). Returns why the write is refused, or undefined.
 */
export function actorWriteProblem(w: FieldWrite, user: string): string | undefined {
  const at = w.path.findIndex((k) => typeof k === 'string' && ACTOR_KEY.test(k))
  if (at < 0 || (w.path[0] === 'charts' && w.path[2] === 'mar')) return undefined
  const where = w.path.slice(0, at + 1).join('.')
  const field = w.path.length === at + 2 ? w.path[at + 1] : undefined
  if (w.path.length === at + 1) {
    if (w.value === undefined && !w.overwrite) return undefined // the map of schema 2: its fields are checked
    const parts = typeof w.value === 'string' ? w.value.split(' ') : []
    if (parts.length !== 2 || !parts[0] || !parts[1]) return `${where} is not an actor 'user device'`
    return parts[0] === user ? undefined : `${where} names ${parts[0]}, not the signed-in user`
  }
  if (field === 'user')
    return w.value === user ? undefined : `${where}.user names ${String(w.value)}, not the signed-in user`
  if (field === 'device')
    return typeof w.value === 'string' && w.value ? undefined : `${where}.device is empty`
  return `${where}: an actor holds a user and a device, nothing else`
}

/** The paths a change wrote, for the audit trail (deduplicated, list positions folded). */
export interface CheckedChange {
  readonly hash: string
  readonly paths: readonly string[]
}

export type WriteCheck =
  | { readonly ok: true; readonly changes: readonly CheckedChange[] }
  | { readonly ok: false; readonly message: string }

/**
 * Checks every write of a browser's changes: each must be allowed to `role` by the table, structure aside (empty
 * containers created inside an object the same changes create, under a path some rule lets a browser write).
 * `guard` adds checks that depend on the receiver's copy (a signed prescription is immutable).
 */
export function checkWrites(
  role: Role,
  kind: DocKind,
  peerId: string,
  changes: readonly { hash: string; writes: readonly (FieldWrite & { structural: boolean })[] }[],
  guard?: (w: FieldWrite) => string | undefined,
): WriteCheck {
  const out: CheckedChange[] = []
  for (const c of changes) {
    const paths = new Set<string>()
    for (const w of c.writes) {
      if (w.structural) {
        const rule = fieldRule(kind, w.path)
        if (!rule || rule.may === 'node')
          return { ok: false, message: `no one creates ${w.path.join('.')} from a browser` }
      } else {
        const d = decideWrite(role, kind, w, peerId)
        if (!d.allowed) return { ok: false, message: d.message }
      }
      const refused = guard?.(w)
      if (refused) return { ok: false, message: refused }
      paths.add(w.path.join('.'))
    }
    out.push({ hash: c.hash, paths: [...paths] })
  }
  return { ok: true, changes: out }
}
