import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceProcess, pollDevice } from './helpers/device-process.js'
import { NetnsLab } from '@clinic-mesh/testing/netns'

/**
 * Issue "No router, really": device processes in network namespaces on real (veth + bridge) links, static or
 * link-local addresses, no default route, no multicast route. Needs root (CI runs as root): without namespaces the
 * suite fails with the reason, it does not skip.
 */

interface Status {
  peers: { name: string; peerId: string; foundBy: string }[]
  mesh: {
    addresses: string[]
    links: { name: string; address: string | null; ok: boolean; error: string | null }[]
    multicastRoute: boolean
    addressBook: number
    alone: string | null
  }
}

let lab: NetnsLab
let root: string
const running: DeviceProcess[] = []
const figures: string[] = []
const ADMIN = { name: 'admin', role: 'admin' }

beforeAll(async () => {
  lab = await NetnsLab.create()
  root = await mkdtemp(join(tmpdir(), 'no-router-'))
})

afterAll(async () => {
  await Promise.all(running.map((d) => d.stop('SIGKILL')))
  await lab?.destroy()
  if (root) await rm(root, { recursive: true, force: true })
  if (figures.length > 0) console.warn(`no-router discovery times:\n  ${figures.join('\n  ')}`)
}, 30_000)

async function startIn(ns: string, name: string, clinicFile: string, create = false): Promise<DeviceProcess> {
  const d = await DeviceProcess.start({
    dataDir: join(root, name),
    name,
    clinicFile,
    ...(create ? { initClinic: `${name} clinic` } : {}),
    wrapper: { command: lab.exec(ns), httpSocket: join(root, `${name}.sock`) },
    meshListen: '/ip4/0.0.0.0/tcp/0', // as a tablet runs: every interface
    mdnsIntervalMs: 250,
  })
  running.push(d)
  return d
}

async function restart(d: DeviceProcess): Promise<DeviceProcess> {
  await d.stop()
  running.splice(running.indexOf(d), 1)
  const again = await d.restart()
  running.push(again)
  return again
}

const status = async (d: DeviceProcess): Promise<Status> => (await d.api<Status>('GET', '/api/status')).body

/** ms from `t0` until `d` has a sync session with each of `names`; returns the status then. */
async function syncedWith(
  d: DeviceProcess,
  names: string[],
  t0: number,
  timeoutMs = 20_000,
): Promise<{ ms: number; st: Status }> {
  const st = await pollDevice(
    async () => {
      const s = await status(d)
      return names.every((n) => s.peers.some((p) => p.name === n)) ? s : undefined
    },
    `${d.init.name} synced with ${names.join(', ')}`,
    timeoutMs,
  )
  return { ms: performance.now() - t0, st }
}

/** Registers a patient on `from`; resolves with the ms until each of `to` serves the chart. */
async function patientTravels(from: DeviceProcess, to: DeviceProcess[]): Promise<number[]> {
  for (const d of [from, ...to])
    await pollDevice(
      async () => (await d.api('GET', '/api/patients?q=zz')).status === 200,
      `${d.init.name} serves search`,
      20_000,
    )
  const t0 = performance.now()
  const created = await from.api<{ id: string }>('POST', '/api/patients', {
    given: 'Amina',
    family: 'Phiri',
    birthDate: '1990-05-01',
    sex: 'female',
    reason: 'cough',
  })
  expect(created.status).toBe(201)
  return Promise.all(
    to.map((d) =>
      pollDevice(
        async () => {
          const r = await d.api<{ chart: { patient: { name: { given: string } } } }>(
            'GET',
            `/api/patients/${created.body.id}`,
          )
          return r.status === 200 && r.body.chart.patient.name.given === 'Amina'
            ? performance.now() - t0
            : undefined
        },
        `${d.init.name} has the chart`,
        10_000,
      ),
    ),
  )
}

/** Restarts `d` and measures until it and `others` are synced again: discovery + connect, enrolment known. */
async function rediscovery(
  d: DeviceProcess,
  others: DeviceProcess[],
): Promise<{ d: DeviceProcess; ms: number }> {
  await d.stop()
  running.splice(running.indexOf(d), 1)
  const again = await d.restart()
  running.push(again)
  const t0 = performance.now()
  const found = await Promise.all([
    syncedWith(
      again,
      others.map((o) => o.init.name),
      t0,
    ),
    ...others.map((o) => syncedWith(o, [again.init.name], t0)),
  ])
  return { d: again, ms: Math.max(...found.map((f) => f.ms)) }
}

async function expectNoRouter(ns: string): Promise<void> {
  const routes = await lab.routes(ns)
  expect(routes).not.toMatch(/^default/m)
  expect(routes).not.toMatch(/^(multicast )?224\./m)
}

describe('no router', () => {
  it('three tablets on one switch, static addresses, no default route: they find each other and share a patient', async () => {
    const lan = await lab.lan('lanA')
    const ns = await Promise.all(['a1', 'a2', 'a3'].map((n) => lab.namespace(n)))
    await Promise.all(ns.map((n, i) => lab.plug(n, lan, 'eth0', `10.77.0.${i + 1}/24`)))
    for (const n of ns) await expectNoRouter(n)
    const clinic = join(root, 'clinic-a.json')
    const [n1, n2, n3] = ns as [string, string, string]
    const reception = await startIn(n1, 'reception', clinic, true)
    await reception.ready()
    // one at a time: two devices enrolling through the shared clinic file at once race on that file (test setup)
    let t0 = performance.now()
    const triage = await startIn(n2, 'triage', clinic)
    const first = await syncedWith(triage, ['reception'], t0)
    t0 = performance.now()
    const pharmacy = await startIn(n3, 'pharmacy', clinic)
    const found = await Promise.all([
      syncedWith(reception, ['triage', 'pharmacy'], t0),
      syncedWith(triage, ['reception', 'pharmacy'], t0),
      syncedWith(pharmacy, ['reception', 'triage'], t0),
    ])
    figures.push(
      `three on a bridge (10.77.0.0/24): a new tablet synced ${first.ms.toFixed(0)} ms (second) and ${Math.max(...found.map((f) => f.ms)).toFixed(0)} ms (third, with both) after its "listening"`,
    )
    for (const { st } of found) {
      for (const p of st.peers) expect(['mdns', 'inbound']).toContain(p.foundBy)
      expect(st.mesh.alone).toBeNull()
      expect(st.mesh.multicastRoute).toBe(false) // found anyway: each interface has its own socket
      expect(st.mesh.links.find((l) => l.name === 'eth0')).toMatchObject({ ok: true })
    }
    await Promise.all([triage.ready(), pharmacy.ready()])
    const ms = await patientTravels(triage, [reception, pharmacy])
    figures.push(
      `  patient registered on triage visible on the others after ${ms.map((m) => m.toFixed(0)).join(' / ')} ms`,
    )
    for (const m of ms) expect(m).toBeLessThan(2_000)
    const again = await rediscovery(pharmacy, [reception, triage])
    figures.push(`  pharmacy restarted: synced with both again ${again.ms.toFixed(0)} ms after "listening"`)
    const st = await status(again.d)
    for (const p of st.peers) expect(['mdns', 'inbound']).toContain(p.foundBy)
  }, 90_000)

  it('link-local addresses only (169.254/16, no DHCP): found and synced, announced by their link-local address', async () => {
    const lan = await lab.lan('lanB')
    const [b1, b2] = await Promise.all([lab.namespace('b1'), lab.namespace('b2')])
    await lab.plug(b1, lan, 'wlan0', '169.254.10.1/16')
    await lab.plug(b2, lan, 'wlan0', '169.254.20.2/16')
    for (const n of [b1, b2]) await expectNoRouter(n)
    const clinic = join(root, 'clinic-b.json')
    const desk = await startIn(b1, 'desk', clinic, true)
    await desk.ready()
    const t0 = performance.now()
    const ward = await startIn(b2, 'ward', clinic)
    const found = await Promise.all([syncedWith(desk, ['ward'], t0), syncedWith(ward, ['desk'], t0)])
    figures.push(
      `link-local only (169.254/16): a new tablet synced ${Math.max(...found.map((f) => f.ms)).toFixed(0)} ms after "listening"`,
    )
    const st = await status(ward)
    expect(st.mesh.addresses.some((a) => a.startsWith('/ip4/169.254.20.2/tcp/'))).toBe(true)
    await ward.ready()
    const ms = await patientTravels(desk, [ward])
    for (const m of ms) expect(m).toBeLessThan(2_000)
    const again = await rediscovery(ward, [desk])
    figures.push(`  ward restarted: synced again ${again.ms.toFixed(0)} ms after "listening"`)
  }, 90_000)

  it('multicast dropped on the link: after a restart the address book reconnects them, and status says why it waits', async () => {
    const lan = await lab.lan('lanC')
    const [c1, c2] = await Promise.all([lab.namespace('c1'), lab.namespace('c2')])
    await lab.plug(c1, lan, 'eth0', '10.78.0.1/24')
    await lab.plug(c2, lan, 'eth0', '10.78.0.2/24')
    const clinic = join(root, 'clinic-c.json')
    let lab1 = await startIn(c1, 'lab', clinic, true)
    await lab1.ready()
    let ward = await startIn(c2, 'ward2', clinic)
    await Promise.all([syncedWith(lab1, ['ward2'], 0), syncedWith(ward, ['lab'], 0)])
    // each learned the other's address (persisted in its data dir)
    const book = await pollDevice(async () => {
      const f = JSON.parse(await readFile(join(root, 'lab', 'address-book.json'), 'utf8')) as {
        meshPort: number
        peers: Record<string, string[]>
      }
      return Object.values(f.peers).some((a) => a.some((x) => x.includes('/ip4/10.78.0.2/'))) ? f : undefined
    }, 'lab has ward2 in its address book')
    expect(book.meshPort).toBeGreaterThan(0)

    // client isolation: multicast no longer leaves either tablet
    await lab.dropMulticast(lan)
    await ward.stop()
    lab1 = await restart(lab1)
    // alone, and saying so honestly: the link is up, mDNS sends, nobody answers
    const alone = await pollDevice(async () => {
      const s = await status(lab1)
      return s.mesh.alone === 'nothing-answering' ? s : undefined
    }, 'lab says nothing answers')
    expect(alone.peers).toEqual([])
    expect(alone.mesh.addressBook).toBe(1)
    expect(alone.mesh.addresses.some((a) => a.includes(`/tcp/${book.meshPort}/`))).toBe(true) // same port as before
    running.splice(running.indexOf(ward), 1)
    const t0 = performance.now()
    ward = await ward.restart()
    running.push(ward)
    const found = await Promise.all([syncedWith(lab1, ['ward2'], t0), syncedWith(ward, ['lab'], t0)])
    figures.push(
      `multicast dropped, address book: synced ${Math.max(...found.map((f) => f.ms)).toFixed(0)} ms after "listening"`,
    )
    const how = found.flatMap((f) => f.st.peers.map((p) => p.foundBy))
    expect(how).toContain('address-book')
    for (const h of how) expect(['address-book', 'inbound']).toContain(h)
    await ward.ready()
    const ms = await patientTravels(ward, [lab1])
    for (const m of ms) expect(m).toBeLessThan(2_000)
  }, 60_000)

  it('multicast dropped from the first minute: two tablets that never met dial each other from the reach records in the membership data', async () => {
    const lan = await lab.lan('lanE')
    const [e1, e2, e3] = await Promise.all([lab.namespace('e1'), lab.namespace('e2'), lab.namespace('e3')])
    await lab.plug(e1, lan, 'eth0', '10.82.0.1/24')
    await lab.plug(e2, lan, 'eth0', '10.82.0.2/24')
    await lab.plug(e3, lan, 'eth0', '10.82.0.3/24')
    await lab.dropMulticast(lan) // client isolation on the hotspot: mDNS reaches nobody, ever
    // device names (and so data dirs under `root`) unique in this file
    const clinic = join(root, 'clinic-e.json')
    const front = await startIn(e1, 'hub', clinic, true)
    await front.ready()
    const [ward, desk] = [await startIn(e2, 'exam', clinic), await startIn(e3, 'stores', clinic)]
    // the admin on the front tablet types each new tablet's address ("Connect to a tablet by address")
    for (const [d, ip] of [
      [ward, '10.82.0.2'],
      [desk, '10.82.0.3'],
    ] as const) {
      const port = (await status(d)).mesh.addresses.map((a) => /\/tcp\/(\d+)/.exec(a)?.[1]).find(Boolean)
      const dialled = await front.api('POST', '/api/mesh/dial', { address: `${ip}:${port}` }, { as: ADMIN })
      expect(dialled.status).toBe(200)
    }
    // ward and desk never met and no one typed their addresses to each other: each learns where the other
    // listens from the other's signed reach record, synced through the front tablet
    const t0 = performance.now()
    const found = await Promise.all([
      syncedWith(ward, ['stores'], t0, 30_000),
      syncedWith(desk, ['exam'], t0, 30_000),
    ])
    figures.push(
      `reach records: two tablets that never met connected ${Math.max(...found.map((f) => f.ms)).toFixed(0)} ms after the admin's dials`,
    )
    const how = found.map((f) => f.st.peers.find((p) => p.name === 'stores' || p.name === 'exam')?.foundBy)
    expect(how).toContain('address-book')
    // the front tablet (the one holding the clinic admin key) goes home: the other two still share a patient
    for (const d of [ward, desk]) await d.token({ name: 'test-clinician', role: 'clinician' })
    await front.stop()
    running.splice(running.indexOf(front), 1)
    await ward.ready()
    const ms = await patientTravels(ward, [desk])
    for (const m of ms) expect(m).toBeLessThan(2_000)
  }, 90_000)

  it('one tablet with two interfaces bridges two groups; a tablet whose link comes up later (and leaves, and comes back) is picked up without a restart', async () => {
    const [lan1, lan2] = [await lab.lan('lanD1'), await lab.lan('lanD2')]
    const [d1, d2, d3] = await Promise.all([lab.namespace('d1'), lab.namespace('d2'), lab.namespace('d3')])
    await lab.plug(d1, lan1, 'eth0', '10.80.1.1/24') // the bridging tablet: a cable and a Wi-Fi
    await lab.plug(d1, lan2, 'wlan0', '169.254.80.1/16')
    await lab.plug(d2, lan1, 'eth0', '10.80.1.2/24')
    await lab.plug(d3, lan2, 'wlan0', '169.254.80.3/16')
    await lab.setLink(d3, 'wlan0', false) // its hotspot is not on yet
    for (const n of [d1, d2, d3]) await expectNoRouter(n)
    const clinic = join(root, 'clinic-d.json')
    const bridge = await startIn(d1, 'bridge', clinic, true)
    await bridge.ready()
    let t0 = performance.now()
    const front = await startIn(d2, 'front', clinic)
    const one = await syncedWith(front, ['bridge'], t0)
    const late = await startIn(d3, 'late', clinic)
    const waiting = await pollDevice(async () => {
      const s = await status(late)
      return s.mesh.alone === 'no-interface' ? s : undefined
    }, 'late says no interface is up')
    expect(waiting.peers).toEqual([])
    await lab.setLink(d3, 'wlan0', true)
    t0 = performance.now()
    const two = await syncedWith(late, ['bridge'], t0)
    figures.push(
      `two groups bridged by a two-interface tablet: cable side synced ${one.ms.toFixed(0)} ms after "listening"; a link brought up later: synced ${two.ms.toFixed(0)} ms after "ip link set up"`,
    )
    const st = await status(bridge)
    expect(st.peers.map((p) => p.name).sort()).toEqual(['front', 'late'])
    expect(
      st.mesh.links
        .filter((l) => l.ok)
        .map((l) => l.name)
        .sort(),
    ).toEqual(['eth0', 'wlan0'])
    expect(st.mesh.addresses.some((a) => a.startsWith('/ip4/169.254.80.1/'))).toBe(true)
    expect(st.mesh.addresses.some((a) => a.startsWith('/ip4/10.80.1.1/'))).toBe(true)
    // front and late have no link in common: a patient goes front → bridge → late
    await late.ready()
    const ms = await patientTravels(front, [late])
    figures.push(`  patient from one group to the other through the bridging tablet: ${ms[0]?.toFixed(0)} ms`)
    for (const m of ms) expect(m).toBeLessThan(2_000)
    // late leaves the link while a patient is registered, and comes back
    await lab.setLink(d3, 'wlan0', false)
    const created = await front.api<{ id: string }>('POST', '/api/patients', {
      given: 'Kofi',
      family: 'Mensah',
      birthDate: '1985-02-03',
      sex: 'male',
      reason: 'fever',
    })
    expect(created.status).toBe(201)
    await lab.setLink(d3, 'wlan0', true)
    t0 = performance.now()
    await pollDevice(
      async () => (await late.api('GET', `/api/patients/${created.body.id}`)).status === 200,
      'late has the patient registered while it was away',
      20_000,
    )
    figures.push(
      `  back on the link: the patient registered meanwhile arrived ${(performance.now() - t0).toFixed(0)} ms after "ip link set up"`,
    )
  }, 90_000)
})
