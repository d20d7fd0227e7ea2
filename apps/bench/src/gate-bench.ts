import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import * as A from '@automerge/automerge'
import { Repo, type AutomergeUrl, type DocHandle, type PeerId } from '@automerge/automerge-repo'
import { MessageChannelNetworkAdapter } from '@automerge/automerge-repo-network-messagechannel'
import { stockClient, type StockClient } from '@clinic-mesh/testing/stock-sync'
import { rootLayout, shardOf, type ClinicRootDoc } from '@clinic-mesh/store'
import { checkWrites, resolveChanges } from '@clinic-mesh/security'
import { median, percentile, type BenchRow } from './row.js'

const MAIN = new URL('../../device/dist/main.js', import.meta.url).pathname
const ADMIN_PASSWORD = 'bench-admin-password'
const KEYSTROKES = 40
/** Above automerge-repo's 100 ms sync batching, as P2: one keystroke per message. */
const PACE_MS = 110

type Notes = { charts: Record<string, { encounters: Record<string, { clinician: { notes: string } }> }> }

interface Device {
  child: ChildProcess
  port: number
}

async function startDevice(root: string, name: string, founder: boolean): Promise<Device> {
  const args = [
    MAIN,
    'device',
    '--data',
    join(root, name),
    '--name',
    name,
    '--clinic-file',
    join(root, 'clinic.json'),
    '--port',
    '0',
  ]
  args.push('--mesh-listen', '/ip4/127.0.0.1/tcp/0', '--mdns-interval', '250', '--plain-storage')
  if (founder) args.push('--init-clinic', 'Bench Clinic')
  const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', ...args], {
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { ...process.env, CLINIC_MESH_ADMIN_PASSWORD: ADMIN_PASSWORD, CLINIC_MESH_SHARED_CLINIC_FILE: '1' },
  })
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`device ${name} did not start`)), 30_000)
    createInterface({ input: child.stdout }).on('line', (l) => {
      try {
        const ev = JSON.parse(l) as { event?: string; http?: number }
        if (ev.event === 'listening' && typeof ev.http === 'number') {
          clearTimeout(timer)
          resolve(ev.http)
        }
      } catch {
        // not a JSON line
      }
    })
  })
  return { child, port }
}

async function call<T>(
  d: Device,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`http://127.0.0.1:${d.port}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  })
  return { status: res.status, body: (await res.json()) as T }
}

async function until<T>(f: () => Promise<T | undefined>, what: string, ms = 30_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await f().catch(() => undefined)
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

async function login(d: Device, user: string, password: string): Promise<string> {
  return until(async () => {
    const r = await call<{ token?: string }>(d, 'POST', '/api/login', { user, password })
    return r.body.token
  }, `login ${user}`)
}

/** Resolves when the handle's notes reach `length` characters: the time it first did. */
function shows(h: DocHandle<Notes>, pid: string, eid: string, length: number): Promise<number> {
  const len = (): number => h.doc()?.charts[pid]?.encounters[eid]?.clinician.notes.length ?? 0
  return new Promise((resolve, reject) => {
    if (len() >= length) return resolve(performance.now())
    const timer = setTimeout(() => reject(new Error(`keystroke ${length} not seen within 10 s`)), 10_000)
    const on = (): void => {
      if (len() < length) return
      clearTimeout(timer)
      h.off('change', on)
      resolve(performance.now())
    }
    h.on('change', on)
  })
}

async function keystrokes(
  writer: DocHandle<Notes>,
  reader: DocHandle<Notes>,
  pid: string,
  eid: string,
): Promise<number[]> {
  const start = writer.doc().charts[pid]?.encounters[eid]?.clinician.notes.length ?? 0
  const samples: number[] = []
  for (let k = 1; k <= KEYSTROKES; k++) {
    await new Promise((r) => setTimeout(r, PACE_MS))
    const seen = shows(reader, pid, eid, start + k)
    const t = performance.now()
    writer.change((d) =>
      A.splice(d, ['charts', pid, 'encounters', eid, 'clinician', 'notes'], start + k - 1, 0, 'x'),
    )
    samples.push((await seen) - t)
  }
  return samples
}

/**
 * Today's path without a gate, in one process: browser repo → node repo → node repo → browser repo over
 * MessageChannels (the stock automerge-repo path, no WebSocket, no libp2p, nothing checked).
 */
async function ungatedChain(): Promise<number[]> {
  const repos = [0, 1, 2, 3].map(
    (i) => new Repo({ network: [], peerId: `r${i}` as PeerId, sharePolicy: () => Promise.resolve(true) }),
  )
  for (let i = 0; i < 3; i++) {
    const { port1, port2 } = new MessageChannel()
    repos[i]!.networkSubsystem.addNetworkAdapter(new MessageChannelNetworkAdapter(port1))
    repos[i + 1]!.networkSubsystem.addNetworkAdapter(new MessageChannelNetworkAdapter(port2))
  }
  const first = repos[0]!.create<Notes>({
    charts: { p: { encounters: { e: { clinician: { notes: '' } } } } },
  })
  const last = await repos[3]!.find<Notes>(first.url)
  const out = await keystrokes(first, last, 'p', 'e')
  await Promise.all(repos.map((r) => r.shutdown()))
  return out
}

/** The gate's own work on one keystroke message against a 156-chart bucket (10,000 patients / 64), beside applying it. */
function gateCost(): { gate: number; apply: number } {
  const charts: Notes['charts'] = {}
  for (let i = 0; i < 156; i++)
    charts[`pt_${i}`] = {
      encounters: {
        [`en_${i}`]: { clinician: { notes: 'History: cough for two weeks. Exam: chest clear. '.repeat(4) } },
      },
    }
  const doc = A.from<Notes>({ charts })
  const gate: number[] = []
  const apply: number[] = []
  let d = doc
  for (let k = 0; k < 50; k++) {
    const next = A.change(A.clone(d), (x) =>
      A.splice(x, ['charts', 'pt_7', 'encounters', 'en_7', 'clinician', 'notes'], k, 0, 'y'),
    )
    const changes = A.getChanges(d, next)
    let t = performance.now()
    const r = resolveChanges(d, changes)
    if (r.ok) checkWrites('clinician', 'chart-bucket', 'web-bench', r.changes)
    gate.push(performance.now() - t)
    t = performance.now()
    d = A.applyChanges(d, changes)[0]
    apply.push(performance.now() - t)
  }
  return { gate: median(gate), apply: median(apply) }
}

/**
 * P8 (issue "Authority at the node"): a clinician's note keystroke through the gated write path — a stock
 * automerge-repo client on device 1's `/sync` (the gate resolves and checks every op, audits it), the mesh to
 * device 2, device 2's `/sync` to a second client — beside the same four-repo path in one process with no gate.
 */
export async function benchGatedNotes(): Promise<BenchRow[]> {
  const root = await mkdtemp(join(tmpdir(), 'bench-gate-'))
  const devices: Device[] = []
  const clients: StockClient[] = []
  try {
    devices.push(await startDevice(root, 'desk', true))
    devices.push(await startDevice(root, 'ward', false))
    const [desk, ward] = devices as [Device, Device]
    const admin = await login(desk, 'admin', ADMIN_PASSWORD)
    for (const name of ['Dr One', 'Dr Two'])
      await call(desk, 'POST', '/api/users', { name, role: 'clinician', password: `${name}-bench-pw` }, admin)
    const one = await login(desk, 'Dr One', 'Dr One-bench-pw')
    const two = await login(ward, 'Dr Two', 'Dr Two-bench-pw')
    const made = await call<{ id: string; encounterId: string }>(
      desk,
      'POST',
      '/api/patients',
      { given: 'Bench', family: 'Patient', birthDate: '1980-01-01', sex: 'female', reason: 'cough' },
      one,
    )
    const { id: pid, encounterId: eid } = made.body
    await until(
      async () =>
        (await call(ward, 'GET', `/api/patients/${pid}`, undefined, two)).status === 200 ? true : undefined,
      'the chart reaches the ward',
    )
    const dirUrl = (await call<{ directoryUrl: AutomergeUrl }>(desk, 'GET', '/api/status')).body.directoryUrl
    clients.push(await stockClient(desk.port, one), await stockClient(ward.port, two))
    const handles = await Promise.all(
      clients.map(async (c) => {
        const dir = (await c.repo.find<{ recordsRoot: AutomergeUrl }>(dirUrl)).doc()
        const layout = rootLayout((await c.repo.find<ClinicRootDoc>(dir.recordsRoot)).doc())
        return c.repo.find<Notes>(layout.chartBuckets[shardOf(pid, layout.chartBuckets.length)]!)
      }),
    )
    const gated = await keystrokes(handles[0]!, handles[1]!, pid, eid)
    const baseline = await ungatedChain()
    const cost = gateCost()
    const p50 = median(gated)
    return [
      {
        metric: 'P8 note keystroke to another tablet p50 (gated /sync, 2 devices)',
        ours: p50,
        baseline: median(baseline),
        unit: 'ms',
        goal: '≤ 500 ms',
        ok: p50 <= 500,
        note: 'baseline: 4 repos in one process, no gate',
      },
      {
        metric: 'P8 note keystroke to another tablet p99',
        ours: percentile(gated, 99),
        baseline: percentile(baseline, 99),
        unit: 'ms',
        goal: '',
        ok: true,
      },
      {
        metric: 'P8 gate check of one keystroke, 156-chart bucket',
        ours: cost.gate,
        baseline: cost.apply,
        unit: 'ms',
        goal: '',
        ok: true,
        note: 'baseline: applying the same change',
      },
    ]
  } finally {
    await Promise.all(clients.map((c) => c.close()))
    for (const d of devices) d.child.kill('SIGKILL')
    await rm(root, { recursive: true, force: true })
  }
}
