import { spawn, type ChildProcess } from 'node:child_process'
import { createRequire } from 'node:module'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { Repo } from '@automerge/automerge-repo'
import type { DeviceId, UserId } from '@clinic-mesh/contracts'
import { emptyCollection, newChart, type ChartCollection } from '@clinic-mesh/records'
import { ClinicStore } from '@clinic-mesh/store'
import { median, percentile, type BenchRow } from './row.js'
import { summarizeBucket } from './summarize-bucket.js'
import { call, until as untilWithin } from './http-call.js'

const DEVICE = fileURLToPath(new URL('../../device/dist/main.js', import.meta.url))
const ADMIN_PASSWORD = 'bench-admin-password'
const CLERK = { user: 'Import Clerk', password: 'import-clerk-bench-pw' }

/** A registry's patient, as the FHIR import takes it (the same records as P14's fill). */
export function fhirPatient(i: number): Record<string, unknown> {
  return {
    resourceType: 'Patient',
    identifier: [{ system: 'urn:bench:registry', value: `REG-${String(i).padStart(6, '0')}` }],
    name: [{ use: 'official', given: [`Given${i % 997}`], family: `Family${i}` }],
    birthDate: `19${String(40 + (i % 60)).padStart(2, '0')}-0${1 + (i % 9)}-1${i % 10}`,
    gender: i % 2 ? 'female' : 'male',
  }
}

function bundle(from: number, count: number): Record<string, unknown> {
  const entry = Array.from({ length: count }, (_, k) => ({
    resource: fhirPatient(from + k),
    request: { method: 'POST', url: 'Patient' },
  }))
  return { resourceType: 'Bundle', type: 'transaction', entry }
}

interface Device {
  child: ChildProcess
  port: number
}

/** A lone device node (no relay, no peers): the founder of a new clinic, its storage encrypted unless `plain`. */
function startDevice(root: string, plain: boolean, prof: string | undefined): Promise<Device> {
  const args = [
    '--disable-warning=TimeoutNegativeWarning',
    ...(prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : []),
    DEVICE,
    'device',
    '--data',
    join(root, 'desk'),
    '--name',
    'desk',
    '--clinic-file',
    join(root, 'clinic.json'),
    '--port',
    '0',
    '--init-clinic',
    'Bulk Import Clinic',
    ...(plain ? ['--plain-storage'] : []),
  ]
  const env: NodeJS.ProcessEnv = { ...process.env, CLINIC_MESH_ADMIN_PASSWORD: ADMIN_PASSWORD }
  if (!plain) env['CLINIC_MESH_DEVICE_SECRET'] = 'bench-device-secret-for-the-import'
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'], env })
  return new Promise<Device>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error('device did not start'))
    }, 60_000)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`device exited with ${code}`))
    })
    createInterface({ input: child.stdout }).on('line', (l) => {
      try {
        const ev = JSON.parse(l) as Record<string, unknown>
        if (ev['event'] === 'listening' && typeof ev['http'] === 'number') {
          clearTimeout(timer)
          resolve({ child, port: ev['http'] })
        }
      } catch {
        // not a JSON line
      }
    })
  })
}

const until = <T>(f: () => Promise<T | undefined | false>, what: string, ms = 60_000): Promise<T> =>
  untilWithin(f, what, ms, 100)

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); NaN elsewhere. */
async function cpuSeconds(pid: number | undefined): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return f.length > 13 ? (Number(f[11]) + Number(f[12])) / 100 : NaN
}

interface ImportBundleReply {
  entry?: { response?: { status?: string } }[]
}

export interface ImportResult {
  charts: number
  chunk: number
  /** first request sent → last answer (each answer comes after the repo's flush: the charts are on disk) */
  ms: number
  /** CPU seconds the device node spent over `ms` (the box is shared: the wall time depends on its load) */
  cpuS: number
  /** registrations through `POST /api/patients` by a second clerk while the import ran (ms each), if asked */
  desk: number[]
  /** a re-post of the first Bundle: ms, and how many entries it created (0: idempotent) */
  repostMs: number
  recreated: number
  load: number
}

/** `n` charts imported through `POST /fhir` of a fresh lone device node, `chunk` Patients per Bundle. */
export async function importCase(
  n: number,
  chunk: number,
  opts: { plain?: boolean; prof?: string; desk?: boolean } = {},
): Promise<ImportResult> {
  const root = await mkdtemp(join(tmpdir(), 'bench-import-'))
  let dev: Device | undefined
  try {
    dev = await startDevice(root, opts.plain === true, opts.prof)
    const d = dev
    await until(
      async () => (await call<{ clinic: { ready: boolean } }>(d, 'GET', '/api/status')).body.clinic.ready,
      'device ready',
    )
    const admin = await until(
      async () =>
        (await call<{ token?: string }>(d, 'POST', '/api/login', { user: 'admin', password: ADMIN_PASSWORD }))
          .body.token,
      'admin login',
    )
    const made = await call(
      d,
      'POST',
      '/api/users',
      { name: CLERK.user, role: 'registration', password: CLERK.password },
      admin,
    )
    if (made.status !== 201) throw new Error(`clerk not created: ${JSON.stringify(made.body)}`)
    const token = (await call<{ token: string }>(d, 'POST', '/api/login', CLERK)).body.token
    const bundles = Array.from({ length: Math.ceil(n / chunk) }, (_, k) =>
      JSON.stringify(bundle(k * chunk, Math.min(chunk, n - k * chunk))),
    )
    const post = async (text: string): Promise<ImportBundleReply> => {
      const res = await fetch(`http://127.0.0.1:${d.port}/fhir`, {
        method: 'POST',
        headers: { 'content-type': 'application/fhir+json', authorization: `Bearer ${token}` },
        body: text,
      })
      const body = (await res.json()) as ImportBundleReply
      if (res.status !== 200) throw new Error(`import: ${res.status} ${JSON.stringify(body).slice(0, 300)}`)
      return body
    }
    const deskToken = opts.desk
      ? (await call<{ token: string }>(d, 'POST', '/api/login', CLERK)).body.token
      : ''
    const cpu0 = await cpuSeconds(d.child.pid)
    const t = performance.now()
    let createdCount = 0
    let importing = true
    const desk: number[] = []
    const walkIns = (async () => {
      for (let i = 0; opts.desk && importing; i++) {
        const body = { given: `Walkin${i}`, family: 'Desk', birthDate: '1990-03-04', sex: 'female' }
        const s = performance.now()
        const r = await call(d, 'POST', '/api/patients', body, deskToken)
        desk.push(performance.now() - s)
        if (r.status !== 201) throw new Error(`registration during the import: ${r.status}`)
        await new Promise((r) => setTimeout(r, 50))
      }
    })()
    try {
      for (const text of bundles)
        createdCount +=
          (await post(text)).entry?.filter((e) => e.response?.status?.startsWith('201')).length ?? 0
    } finally {
      importing = false
    }
    const ms = performance.now() - t
    await walkIns
    const cpuS = (await cpuSeconds(d.child.pid)) - cpu0
    if (createdCount !== n) throw new Error(`import created ${createdCount} of ${n}`)
    const load = loadavg()[0]!
    const r = performance.now()
    const again = await post(bundles[0]!)
    const repostMs = performance.now() - r
    const recreated = again.entry?.filter((e) => e.response?.status?.startsWith('201')).length ?? 0
    return { charts: n, chunk, ms, cpuS, desk, repostMs, recreated, load }
  } finally {
    if (dev) {
      const child = dev.child
      if (opts.prof) {
        const exited = new Promise((r) => child.once('exit', r))
        child.kill('SIGTERM')
        await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))])
      }
      child.kill('SIGKILL')
    }
    await rm(root, { recursive: true, force: true })
  }
}

/**
 * Baseline: the same charts (records' `newChart`) through an in-process store's `changeMany`, 500 per call, no HTTP, no
 * disk: each chart assigned in the bucket's change (`fn`, Automerge's own patches), or with `whole` offered as a new
 * chart (`fresh`: put whole, its view materialized, as the FHIR import does since issue 17 #8).
 */
export async function storeCase(n: number, chunk = 500, whole = false): Promise<number> {
  const repo = new Repo({ network: [] })
  const store = ClinicStore.create<ChartCollection>(repo, {
    clinic: 'bench',
    emptyBucket: emptyCollection,
    summarize: summarizeBucket,
    wholePuts: whole,
  })
  const actor = { user: 'usr_clerk' as UserId, device: 'dev_desk' as DeviceId }
  const t = performance.now()
  for (let at = 0; at < n; at += chunk) {
    const writes = []
    for (let i = at; i < Math.min(n, at + chunk); i++) {
      const { id, chart } = newChart(
        {
          given: `Given${i % 997}`,
          family: `Family${i}`,
          birthDate: `19${String(40 + (i % 60)).padStart(2, '0')}-0${1 + (i % 9)}-1${i % 10}`,
          sex: i % 2 ? 'female' : 'male',
          identifiers: [{ system: 'urn:bench:registry', value: `REG-${String(i).padStart(6, '0')}` }],
        },
        actor,
      )
      writes.push({
        patientId: id,
        fn: (d: ChartCollection) => void (d.charts[id] = chart),
        ...(whole ? { fresh: () => chart } : {}),
      })
    }
    await store.changeMany(writes)
  }
  const ms = performance.now() - t
  await repo.shutdown()
  return ms
}

/** Baseline: PouchDB (CHT's engine, in memory) taking the same FHIR Patients by bulkDocs of 500. */
export async function pouchCase(n: number, chunk = 500): Promise<number> {
  const require = createRequire(import.meta.url)
  type Db = { bulkDocs(docs: object[]): Promise<unknown>; destroy(): Promise<void> }
  type Ctor = (new (name: string, opts: { adapter: string }) => Db) & { plugin(p: unknown): Ctor }
  const PouchDB = (require('pouchdb-core') as Ctor).plugin(require('pouchdb-adapter-memory'))
  const db = new PouchDB(`import${process.pid}`, { adapter: 'memory' })
  const t = performance.now()
  for (let at = 0; at < n; at += chunk) {
    const docs = []
    for (let i = at; i < Math.min(n, at + chunk); i++) docs.push({ _id: `REG-${i}`, ...fhirPatient(i) })
    await db.bulkDocs(docs)
  }
  const ms = performance.now() - t
  await db.destroy()
  return ms
}

/**
 * P15 (issue 17 #8, creation): 10,000 charts imported through `POST /fhir` of a lone device node (encrypted storage,
 * as a tablet runs), in Bundles of 500 and of 2,000 (10,000 in one is over the 1 MiB body cap: 413), from the first
 * request to the last answer (each answer follows the repo's flush: the charts are on disk); beside the same charts
 * through an in-process store (no HTTP, no disk) and PouchDB's bulkDocs in memory, both measured in this run. Then the
 * desk during an import: a second clerk registering a walk-in every 50 ms while the Bundles of 2,000 go in. The
 * import puts its new charts whole (`BulkWrite.fresh`, pinned/whole-puts.ts); the in-process baseline assigns them in
 * the change (Automerge's patches), and its note gives the same in-process write put whole.
 * `CM_P15_CPU_PROF=DIR`: a CPU profile of each device node.
 */
export async function benchBulkImport(n = 10_000): Promise<BenchRow[]> {
  const prof = process.env['CM_P15_CPU_PROF']
  const storeMs = await storeCase(n)
  const wholeMs = await storeCase(n, 500, true)
  const pouchMs = await pouchCase(n)
  const rows: BenchRow[] = []
  for (const chunk of [500, 2000]) {
    const r = await importCase(n, chunk, prof ? { prof } : {})
    rows.push({
      metric: `P15 import ${n} charts via POST /fhir, Bundles of ${chunk}, lone device (encrypted)`,
      ours: r.ms / 1000,
      baseline: storeMs / 1000,
      unit: 's',
      goal: '≤ 10 s',
      ok: r.ms <= 10_000 && r.recreated === 0,
      note: `device CPU ${r.cpuS.toFixed(1)} s; baseline: in-process store changeMany of the same newChart charts (no HTTP, no disk) through Automerge's patches; put whole as the import does ${(wholeMs / 1000).toFixed(2)} s; PouchDB bulkDocs (memory) ${(pouchMs / 1000).toFixed(2)} s; re-post of one Bundle ${r.repostMs.toFixed(0)} ms, created ${r.recreated}; load ${r.load.toFixed(1)}`,
    })
  }
  const busy = await importCase(n, 2000, { desk: true })
  const p99 = percentile(busy.desk, 99)
  rows.push({
    metric: `P15 register a walk-in during the import (Bundles of 2,000), p99`,
    ours: p99,
    baseline: median(busy.desk),
    unit: 'ms',
    goal: '≤ 1 s',
    ok: Math.max(...busy.desk) <= 1000,
    note: `baseline: the median; ${busy.desk.length} registrations, max ${Math.max(...busy.desk).toFixed(0)} ms; the import took ${(busy.ms / 1000).toFixed(1)} s; load ${busy.load.toFixed(1)}`,
  })
  return rows
}
