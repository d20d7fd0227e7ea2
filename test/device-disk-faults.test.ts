import { execFileSync } from 'node:child_process'
import { closeSync, openSync, writeSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceProcess } from './helpers/device-process.js'

/**
 * Real disk faults under a real device process. Needs root (this machine runs the tests as root): a read-only
 * bind mount of the data dir over itself, and a 16 MiB tmpfs filled to the last byte for ENOSPC. No simulation.
 */
const mount = (...args: string[]): void => void execFileSync('mount', args, { stdio: 'pipe' })
const umount = (path: string): void => {
  try {
    execFileSync('umount', [path], { stdio: 'pipe' })
  } catch {
    execFileSync('umount', ['-l', path], { stdio: 'pipe' })
  }
}

type Err = { error?: { name: string; message: string } }
const CLIN = { as: { name: 'co', role: 'clinician' } }
const PHARM = { as: { name: 'ph', role: 'pharmacist' } }
const patient = (family: string) => ({ given: 'Disk', family, birthDate: '1970-01-01', sex: 'female' })
const receipt = (id: string) => ({
  id,
  item: 'itm_amox',
  batch: 'AMX-9',
  expiry: '2030-01-31',
  quantity: 10,
  unitCost: 40,
  supplier: 'CMST',
  grn: `GRN-${id}`,
})

async function families(node: DeviceProcess): Promise<string[]> {
  const r = await node.api<{ patients: { family?: string; name?: { family: string } }[] }>(
    'GET',
    '/api/patients?q=Disk&limit=50',
    undefined,
    CLIN,
  )
  return r.body.patients.map((p) => p.family ?? p.name?.family ?? '?').sort()
}

/** A chart read is audited (an entry written before the chart is shown): on a failing disk it is 200 or the named error. */
async function expectReadAudited(
  node: DeviceProcess,
  id: string,
  status: number,
  name: string,
): Promise<void> {
  const r = await node.api<Err>('GET', `/api/patients/${id}`, undefined, CLIN)
  expect([200, `${status} ${name}`]).toContain(r.status === 200 ? 200 : `${r.status} ${r.body.error?.name}`)
  console.warn(`chart read on a failing disk: ${r.status} ${r.body.error?.name ?? ''}`)
}

/** Files of zero bytes under `dir` (half-written chunks); temp files the storage is writing right now do not count. */
async function emptyFiles(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const path = join(e.parentPath, e.name)
    if (!e.isFile() || path.includes('/.tmp/')) continue
    const size = await stat(path).then(
      (st) => st.size,
      () => undefined,
    ) // gone meanwhile: compacted away
    if (size === 0) out.push(path.slice(dir.length))
  }
  return out
}

/** Fills the file system holding `file` until it refuses with ENOSPC; returns the bytes written. */
function fill(file: string): number {
  const fd = openSync(file, 'w')
  const chunk = Buffer.alloc(64 * 1024)
  let written = 0
  try {
    for (;;) written += writeSync(fd, chunk)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err
  } finally {
    closeSync(fd)
  }
  return written
}

describe('disk faults under a real device node', () => {
  let root: string
  const mounted: string[] = []
  let node: DeviceProcess | undefined

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'device-disk-'))
  })
  afterAll(async () => {
    await node?.stop('SIGKILL')
    for (const m of mounted.reverse()) umount(m)
    await rm(root, { recursive: true, force: true })
  })

  it('read-only data dir: writes answer 503 StorageUnavailableError, reads keep working, nothing stored is lost', async () => {
    const dataDir = join(root, 'ro')
    node = await DeviceProcess.start({
      dataDir,
      name: 'ro',
      clinicFile: join(root, 'ro.clinic.json'),
      initClinic: 'Disk Clinic',
    })
    await node.ready()
    const a = await node.api<{ id: string }>('POST', '/api/patients', patient('Before'), CLIN)
    expect(a.status).toBe(201)
    expect((await node.api('POST', '/api/stock/receipts', receipt('r-1'), PHARM)).status).toBe(201)

    mount('--bind', dataDir, dataDir)
    mounted.push(dataDir)
    mount('-o', 'remount,ro,bind', dataDir)
    const refused = await node.api<Err>('POST', '/api/patients', patient('DuringReadOnly'), CLIN)
    expect([refused.status, refused.body.error?.name]).toEqual([503, 'StorageUnavailableError'])
    expect(refused.body.error?.message).toMatch(/EROFS|ENOENT/)
    const op = await node.api<Err>('POST', '/api/stock/receipts', receipt('r-2'), PHARM)
    expect([op.status, op.body.error?.name]).toEqual([503, 'StorageUnavailableError'])
    // not durable, but not hidden either: the refused change is in memory (the message says so); search answers
    expect(refused.body.error?.message).toMatch(/held in memory .* not durable/)
    expect(await families(node)).toEqual(['Before', 'DuringReadOnly'])
    // opening a chart writes an audit entry first, so it is refused the same way (or served, if the audit is not written)
    await expectReadAudited(node, a.body.id, 503, 'StorageUnavailableError')
    expect((await node.api('GET', '/api/status')).status).toBe(200)
    expect(
      node.stderr.some((l) =>
        /"event":"storage-fault","error":"StorageUnavailableError","code":"(EROFS|ENOENT)"/.test(l),
      ),
    ).toBe(true)

    umount(dataDir)
    mounted.pop()
    const resumed = await node.api<Err>('POST', '/api/patients', patient('AfterReadOnly'), CLIN)
    expect([resumed.status, resumed.body.error?.name]).toEqual([201, undefined])
    expect(node.stderr.some((l) => l.includes('"event":"storage-recovered"'))).toBe(true)
    expect(await node.stop('SIGTERM')).toBe(0)
    expect(node.stderr.filter((l) => l.includes('uncaught-exception'))).toEqual([])

    node = await node.restart()
    await node.ready()
    // everything acknowledged survives; the refused change reached the disk at the clean stop (repo flush) once the
    // disk was writable again (after a SIGKILL before that it would be gone: it was never acknowledged)
    expect(await families(node)).toEqual(['AfterReadOnly', 'Before', 'DuringReadOnly'])
    const stock = await node.api<{ lines: { batch: string; tentative: number }[] }>(
      'GET',
      '/api/stock',
      undefined,
      PHARM,
    )
    expect(stock.body.lines.find((l) => l.batch === 'AMX-9')?.tentative).toBeGreaterThanOrEqual(10)
    expect(await node.stop('SIGTERM')).toBe(0)
  })

  it('full disk (tmpfs filled to ENOSPC): writes answer 507 StorageFullError, space freed → writes resume, nothing stored is lost', async () => {
    const fs = join(root, 'tmpfs')
    await mkdir(fs)
    mount('-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', fs)
    mounted.push(fs)
    const dataDir = join(fs, 'data')
    node = await DeviceProcess.start({
      dataDir,
      name: 'full',
      clinicFile: join(root, 'full.clinic.json'),
      initClinic: 'Full Clinic',
    })
    await node.ready()
    const a = await node.api<{ id: string }>('POST', '/api/patients', patient('BeforeFull'), CLIN)
    expect(a.status).toBe(201)
    await node.token(PHARM.as) // log in before the disk fills (a login writes the session file)

    const filler = join(fs, 'filler')
    const filled = fill(filler)
    console.warn(`full disk: filler took ${(filled / 1024 / 1024).toFixed(1)} MiB of the 16 MiB tmpfs`)
    const refused = await node.api<Err>('POST', '/api/patients', patient('DuringFull'), CLIN)
    expect([refused.status, refused.body.error?.name]).toEqual([507, 'StorageFullError'])
    expect(refused.body.error?.message).toMatch(/ENOSPC/)
    const op = await node.api<Err>('POST', '/api/stock/receipts', receipt('f-1'), PHARM)
    expect([op.status, op.body.error?.name]).toEqual([507, 'StorageFullError'])
    expect(await families(node)).toEqual(['BeforeFull', 'DuringFull'])
    // no half-written chunk left behind (the stock adapter leaves empty files on ENOSPC, which then fail to decrypt)
    expect(await emptyFiles(join(dataDir, 'repo'))).toEqual([])
    await expectReadAudited(node, a.body.id, 507, 'StorageFullError')

    await rm(filler)
    const resumed = await node.api<Err>('POST', '/api/patients', patient('AfterFull'), CLIN)
    expect([resumed.status, resumed.body.error?.name]).toEqual([201, undefined])
    expect(await node.stop('SIGTERM')).toBe(0)
    node = await node.restart()
    await node.ready().catch((err: unknown) => {
      throw new Error(`${String(err)}\n${node?.stderr.slice(-10).join('\n')}`)
    })
    expect(await families(node)).toEqual(['AfterFull', 'BeforeFull', 'DuringFull'])
    expect(await node.stop('SIGTERM')).toBe(0)
  })
})
