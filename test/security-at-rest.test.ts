import { readdir, readFile, rm, mkdtemp } from 'node:fs/promises'
import * as A from '@automerge/automerge'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceProcess } from './helpers/device-process.js'

/** Distinctive strings: none can appear in a data dir by chance. */
const PATIENTS = [
  { given: 'Zanzibella', family: 'Quorthwick', birthDate: '1988-03-14', sex: 'female' },
  { given: 'Thandekile', family: 'Mvuyisward', birthDate: '1961-11-02', sex: 'male' },
]
const NOTE = 'Suspected Vortigernosis, prior Kelmscott regimen'
/** A clinician may register, write notes and read (x-user/x-role: the helper logs in as that user). */
const AS = { headers: { 'x-user': 'usr_co', 'x-role': 'clinician' } }
const NEEDLES = ['Zanzibella', 'Quorthwick', 'Thandekile', 'Mvuyisward', 'Vortigernosis', 'Kelmscott']

/** What decoding a file as Automerge data yields (a snapshot or incremental changes), as JSON; '' if it is not. */
function decoded(data: Uint8Array): string {
  try {
    return JSON.stringify(A.toJS(A.loadIncremental(A.init<Record<string, unknown>>(), data)))
  } catch {
    return ''
  }
}

/**
 * Every file under `dir`, recursively: the needles found in its raw bytes (`raw`) and in what Automerge decodes from
 * it (`decoded`: Automerge deflates large columns, so long text such as notes is not in the raw bytes of a plain
 * snapshot; an attacker with the automerge library reads it anyway).
 */
async function scan(
  dir: string,
): Promise<{ files: number; bytes: number; raw: string[]; decoded: string[] }> {
  const out = { files: 0, bytes: 0, raw: [] as string[], decoded: [] as string[] }
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) await walk(p)
      else if (e.isFile()) {
        const data = await readFile(p)
        out.files++
        out.bytes += data.length
        const text = decoded(data)
        for (const n of NEEDLES) {
          if (data.includes(Buffer.from(n, 'utf8'))) out.raw.push(n)
          if (text.includes(n)) out.decoded.push(n)
        }
      }
    }
  }
  await walk(dir)
  return out
}

interface Reg {
  id: string
  encounterId: string
}

/** Registers the patients and a note through the JSON API; returns their ids. */
async function writeCharts(node: DeviceProcess): Promise<Reg[]> {
  const regs: Reg[] = []
  for (const p of PATIENTS) {
    const r = await node.api<Reg>('POST', '/api/patients', { ...p, reason: 'review' }, AS)
    expect(r.status).toBe(201)
    regs.push(r.body)
  }
  const first = regs[0]!
  const n = await node.api(
    'PATCH',
    `/api/encounters/${first.encounterId}`,
    { patientId: first.id, notes: NOTE },
    AS,
  )
  expect(n.status).toBe(200)
  return regs
}

async function expectCharts(node: DeviceProcess, regs: Reg[]): Promise<void> {
  const found = await node.api<{ patients: { id: string }[] }>(
    'GET',
    '/api/patients?q=Quorthwick',
    undefined,
    AS,
  )
  expect(found.body.patients.map((p) => p.id)).toEqual([regs[0]!.id])
  const chart = await node.api<{
    chart: {
      patient: { name: { family: string } }
      encounters: Record<string, { clinician: { notes: string } }>
    }
  }>('GET', `/api/patients/${regs[0]!.id}`, undefined, AS)
  expect(chart.body.chart.patient.name.family).toBe('Quorthwick')
  expect(chart.body.chart.encounters[regs[0]!.encounterId]?.clinician.notes).toBe(NOTE)
  const second = await node.api<{ chart: { patient: { name: { given: string } } } }>(
    'GET',
    `/api/patients/${regs[1]!.id}`,
    undefined,
    AS,
  )
  expect(second.body.chart.patient.name.given).toBe('Thandekile')
}

describe('encryption at rest in the device node (real processes)', () => {
  let root: string
  let node: DeviceProcess | undefined
  const dataDir = (n: string): string => join(root, n)
  const clinicFileOf = (n: string): string => join(root, `${n}.clinic.json`)

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'security-at-rest-'))
  })
  afterAll(async () => {
    await node?.stop('SIGKILL')
    await rm(root, { recursive: true, force: true })
  })

  it('control: with --plain-storage the same scan finds every name and the note on disk', async () => {
    node = await DeviceProcess.start({
      dataDir: dataDir('plain'),
      name: 'plain',
      clinicFile: clinicFileOf('plain'),
      initClinic: 'At Rest Clinic',
      args: ['--plain-storage'],
    })
    await node.ready()
    await writeCharts(node)
    expect(await node.stop('SIGTERM')).toBe(0)
    const s = await scan(dataDir('plain'))
    expect(s.raw).toEqual(expect.arrayContaining(NEEDLES.slice(0, 4))) // the names, byte for byte (the note too, unless deflated)
    expect(new Set([...s.raw, ...s.decoded])).toEqual(new Set(NEEDLES)) // and the note once decoded
  })

  it('encrypted: no name and no note in any byte of the data dir; the right secret shows them again', async () => {
    const dir = dataDir('enc')
    node = await DeviceProcess.start({
      dataDir: dir,
      name: 'enc',
      clinicFile: clinicFileOf('enc'),
      initClinic: 'At Rest Clinic 2',
      secret: 'correct horse battery staple',
    })
    await node.ready()
    const regs = await writeCharts(node)
    await expectCharts(node, regs)
    expect(await node.stop('SIGTERM')).toBe(0)

    const s = await scan(dir)
    expect(s.files).toBeGreaterThan(5) // repo chunks, device.json, device.key, peer.key: the scan read real data
    expect(s.bytes).toBeGreaterThan(2_000)
    expect([s.raw, s.decoded]).toEqual([[], []])
    // the clinic file beside it holds no patient data either, nor the node's own log
    const clinicFile = await readFile(clinicFileOf('enc'), 'utf8')
    for (const n of NEEDLES) expect(clinicFile).not.toContain(n)
    expect(node.stderr.join('\n')).not.toMatch(/Zanzibella|Quorthwick|Vortigernosis/)

    node = await DeviceProcess.start({
      dataDir: dir,
      name: 'enc',
      clinicFile: clinicFileOf('enc'),
      secret: 'correct horse battery staple',
    })
    await node.ready()
    await expectCharts(node, regs)
    expect(await node.stop('SIGTERM')).toBe(0)
  })

  it('refuses a wrong secret and a missing one with a typed error and exit code 3, not a stack trace', async () => {
    const dir = dataDir('enc')
    const wrong = await DeviceProcess.start({
      dataDir: dir,
      name: 'enc',
      clinicFile: clinicFileOf('enc'),
      secret: 'not the secret',
    }).then(
      () => 'started',
      (err: Error) => err.message,
    )
    expect(wrong).toMatch(/exited with 3/)
    expect(wrong).toMatch(/"error":"KeyFileError","reason":"wrong-secret"/)
    expect(wrong).toMatch(/cannot start: KeyFileError \(wrong device secret\)/)
    expect(wrong).not.toMatch(/\n\s+at /) // no stack trace

    const missing = await DeviceProcess.start({
      dataDir: dir,
      name: 'enc',
      clinicFile: clinicFileOf('enc'),
      secret: null,
    }).then(
      () => 'started',
      (err: Error) => err.message,
    )
    expect(missing).toMatch(/exited with 3/)
    expect(missing).toMatch(/DeviceSecretRequiredError/)
    expect(missing).toMatch(/--secret-file PATH or the CLINIC_MESH_DEVICE_SECRET/)

    // plain storage is refused on an encrypted dir (it would write clear text beside the encrypted chunks)
    const plain = await DeviceProcess.start({
      dataDir: dir,
      name: 'enc',
      clinicFile: clinicFileOf('enc'),
      args: ['--plain-storage'],
    }).then(
      () => 'started',
      (err: Error) => err.message,
    )
    expect(plain).toMatch(/ConfigError/)
  })

  it('takes the secret from --secret-file outside the data dir and refuses one inside it', async () => {
    const dir = dataDir('enc')
    const inside = join(dir, 'secret.txt')
    const { writeFile } = await import('node:fs/promises')
    await writeFile(inside, 'correct horse battery staple\n')
    const refused = await DeviceProcess.start({
      dataDir: dir,
      name: 'enc',
      clinicFile: clinicFileOf('enc'),
      args: ['--secret-file', inside],
    }).then(
      () => 'started',
      (err: Error) => err.message,
    )
    expect(refused).toMatch(/ConfigError.*inside the data dir/)
    await rm(inside)
    const outside = join(root, 'enc.secret')
    await writeFile(outside, 'correct horse battery staple\n', { mode: 0o600 })
    node = await DeviceProcess.start({
      dataDir: dir,
      name: 'enc',
      clinicFile: clinicFileOf('enc'),
      args: ['--secret-file', outside],
    })
    await node.ready()
    expect(
      (await node.api<{ patients: unknown[] }>('GET', '/api/patients?q=Mvuyisward', undefined, AS)).body
        .patients,
    ).toHaveLength(1)
    expect(await node.stop('SIGTERM')).toBe(0)
  })

  it('migrates an older plain data dir once a secret is given: the names leave the disk, the charts stay', async () => {
    const dir = dataDir('plain')
    const before = await scan(dir)
    expect(before.raw.length).toBeGreaterThan(0)
    node = await DeviceProcess.start({
      dataDir: dir,
      name: 'plain',
      clinicFile: clinicFileOf('plain'),
      secret: 'now encrypted',
    })
    await node.ready()
    expect(
      (await node.api<{ patients: unknown[] }>('GET', '/api/patients?q=Zanzibella', undefined, AS)).body
        .patients,
    ).toHaveLength(1)
    expect(node.stderr.join('\n')).toMatch(/storage-migrated-to-encrypted/)
    expect(await node.stop('SIGTERM')).toBe(0)
    const after = await scan(dir)
    expect([after.raw, after.decoded]).toEqual([[], []])
  })
})
