import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { BrowserContext, Page } from 'playwright-core'
import { WebClinic, meshed, notesOf, urlOf } from './helpers/web-devices.js'
import { launchTabletProfile, reportFailures, signIn } from './helpers/web-browser.js'
import { registerPatient } from './helpers/web-flows.js'
import { pollDevice } from './helpers/device-process.js'
import { RelayProcess } from './helpers/relay-process.js'

// distinctive enough that no Chromium file holds them by chance
const GIVEN = 'Zephyrinka'
const FAMILY = 'Quillmorrow'
const NOTE = 'Wheezing since Tuesday, xylophone-shaped rash on the forearm.'

function registerVisit(
  page: Page,
  given: string,
  family: string,
  reason: string,
): Promise<{ pid: string; eid: string }> {
  return registerPatient(page, { given, family, birthDate: '1988-02-03', sex: 'female', reason })
}

/** Every regular file under `dir` that holds one of `needles` as UTF-8 or UTF-16LE bytes. */
async function scanProfile(
  dir: string,
  needles: string[],
): Promise<{ needle: string; file: string; encoding: string }[]> {
  const hits: { needle: string; file: string; encoding: string }[] = []
  const patterns = needles.flatMap((needle) =>
    (['utf8', 'utf16le'] as const).map((encoding) => ({
      needle,
      encoding,
      bytes: Buffer.from(needle, encoding),
    })),
  )
  let files = 0
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isDirectory()) await walk(p)
      else if (e.isFile()) {
        const data = await readFile(p).catch(() => undefined)
        if (!data) continue
        files++
        for (const { needle, encoding, bytes } of patterns)
          if (data.includes(bytes)) hits.push({ needle, file: p.slice(dir.length + 1), encoding })
      }
    }
  }
  await walk(dir)
  expect(files).toBeGreaterThan(10) // a real profile was scanned
  return hits
}

// in-page scripts as strings: the test project has no DOM types
const COUNT_DATABASES = `(async () => {
  const out = {}
  for (const { name } of await indexedDB.databases()) {
    if (!name) continue
    out[name] = await new Promise((resolve, reject) => {
      const req = indexedDB.open(name)
      req.onerror = () => reject(req.error)
      req.onsuccess = () => {
        const db = req.result
        const names = [...db.objectStoreNames]
        if (names.length === 0) return db.close(), resolve(0)
        const tx = db.transaction(names)
        let n = 0
        let left = names.length
        for (const s of names) {
          const c = tx.objectStore(s).count()
          c.onsuccess = () => {
            n += c.result
            if (--left === 0) db.close(), resolve(n)
          }
        }
      }
    })
  }
  return out
})()`

/** The page's IndexedDB databases and how many records each holds. */
function databases(page: Page): Promise<Record<string, number>> {
  return page.evaluate<Record<string, number>>(COUNT_DATABASES)
}

/** Writes `text` in clear through IndexedDB, as automerge-repo's IndexedDB adapter stores a chunk: { key, binary }. */
function writePlainIndexedDb(page: Page, text: string): Promise<void> {
  return page.evaluate<void>(`(async () => {
    const db = await new Promise((resolve, reject) => {
      const req = indexedDB.open('control-plain', 1)
      req.onupgradeneeded = () => req.result.createObjectStore('documents')
      req.onsuccess = () => resolve(req.result)
      req.onerror = () => reject(req.error)
    })
    const tx = db.transaction('documents', 'readwrite')
    tx.objectStore('documents').put({ key: ['doc', 'incremental'], binary: new TextEncoder().encode(${JSON.stringify(text)}) }, ['doc', 'incremental'])
    await new Promise((r) => (tx.oncomplete = r))
    db.close()
  })()`)
}

describe('web: the browser’s IndexedDB copy of the clinic', () => {
  let clinic: WebClinic | undefined
  reportFailures(() => clinic?.devices ?? [])
  let relay: RelayProcess | undefined
  const profiles: string[] = []
  const contexts: BrowserContext[] = []
  const profile = async (): Promise<string> => {
    const dir = await mkdtemp(join(tmpdir(), 'chromium-profile-'))
    profiles.push(dir)
    return dir
  }

  afterAll(async () => {
    await Promise.all(contexts.map((c) => c.close().catch(() => undefined)))
    await clinic?.stop()
    await relay?.stop('SIGKILL')
    await Promise.all(profiles.map((d) => rm(d, { recursive: true, force: true })))
  })

  it('holds no patient data in clear on disk (and a plain IndexedDB write of the same text is found)', async () => {
    clinic = await WebClinic.start(['device-a'])
    const node = clinic.devices[0]!

    // the key reaches a signed-in session only, never cached
    const anonymous = await node.api('GET', '/api/session/storage-key', undefined, { as: null })
    expect(anonymous.status).toBe(401)
    const keyed = await fetch(`${urlOf(node)}/api/session/storage-key`, {
      headers: { authorization: `Bearer ${await node.token({ name: 'Nurse Key', role: 'nurse' })}` },
    })
    expect(keyed.status).toBe(200)
    expect(keyed.headers.get('cache-control')).toBe('no-store')
    const { key } = (await keyed.json()) as { key: string }
    expect(Buffer.from(key, 'base64').length).toBe(32)
    const again = await node.api<{ key: string }>('GET', '/api/session/storage-key', undefined, {
      as: { name: 'Dr Key', role: 'clinician' },
    })
    expect(again.body.key).toBe(key) // one key per device node

    const dir = await profile()
    const context = await launchTabletProfile(dir)
    contexts.push(context)
    const page = await context.newPage()
    page.setDefaultTimeout(30_000)
    await page.goto(urlOf(node))
    await signIn(page, 'Dr Banda', 'clinician')
    const { pid, eid } = await registerVisit(page, GIVEN, FAMILY, 'cough')
    const notes = page.getByTestId('notes')
    await notes.click()
    await page.keyboard.type(NOTE)
    await expect.poll(() => notesOf(node, pid, eid), { timeout: 30_000 }).toBe(NOTE)
    // the browser's copy is there, in an encrypted database of its own (not the old clear `clinic-mesh`)
    await expect
      .poll(
        async () =>
          Object.entries(await databases(page)).filter(
            ([name, n]) => /^clinic-mesh-[0-9a-f]{16}$/.test(name) && n > 5,
          ).length,
        { timeout: 30_000 },
      )
      .toBe(1)
    expect(Object.keys(await databases(page))).not.toContain('clinic-mesh')
    await page.waitForTimeout(1500) // let the repo's throttled saves land
    await context.close()
    contexts.splice(contexts.indexOf(context), 1)

    const hits = await scanProfile(dir, [GIVEN, FAMILY, NOTE.slice(0, 30)])
    expect(hits).toEqual([])

    // control: the same text written in clear through IndexedDB in the same Chromium is found by the same scan
    const controlDir = await profile()
    const control = await launchTabletProfile(controlDir)
    contexts.push(control)
    const cp = await control.newPage()
    await cp.goto(urlOf(node))
    await writePlainIndexedDb(cp, `${GIVEN} ${FAMILY}: ${NOTE}`)
    await control.close()
    contexts.splice(contexts.indexOf(control), 1)
    const found = await scanProfile(controlDir, [GIVEN, FAMILY, NOTE.slice(0, 30)])
    expect(new Set(found.map((h) => h.needle))).toEqual(new Set([GIVEN, FAMILY, NOTE.slice(0, 30)]))
  }, 150_000)

  it('is deleted when the device node was revoked', async () => {
    await clinic?.stop()
    // the revocation reaches the tablet through the relay (the desk cuts it from the mesh at once)
    relay = await RelayProcess.start(await profile())
    clinic = await WebClinic.start(['desk', 'tablet'], { relay: `ws://127.0.0.1:${relay.port}` })
    const [desk, tablet] = clinic.devices as [
      NonNullable<(typeof clinic.devices)[0]>,
      NonNullable<(typeof clinic.devices)[0]>,
    ]
    await meshed(desk, 1)
    const context = await launchTabletProfile(await profile())
    contexts.push(context)
    const page = await context.newPage()
    page.setDefaultTimeout(30_000)
    await page.goto(urlOf(tablet))
    await signIn(page, 'Dr Phiri', 'clinician')
    await registerVisit(page, 'Revocata', 'Lostabletti', 'fever')
    await expect
      .poll(
        async () =>
          Object.entries(await databases(page)).filter(
            ([name, n]) => name.startsWith('clinic-mesh-') && n > 0,
          ).length,
        { timeout: 10_000 },
      )
      .toBe(1)
    const appItems = (): Promise<string[]> =>
      page.evaluate(() =>
        [...Object.keys(localStorage), ...Object.keys(sessionStorage)].filter((k) =>
          k.startsWith('clinic-mesh.'),
        ),
      )
    expect(await appItems()).toContain('clinic-mesh.storage-key')

    const peerId = (await tablet.api<{ device: { peerId: string } }>('GET', '/api/status')).body.device.peerId
    const revoked = await desk.api(
      'POST',
      '/api/devices/revoke',
      { peerId, reason: 'tablet stolen' },
      { as: { name: 'admin', role: 'admin' } },
    )
    expect(revoked.status).toBe(200)
    await pollDevice(
      async () =>
        (await tablet.api<{ revoked?: boolean }>('GET', '/api/status', undefined, { as: null })).body
          .revoked === true,
      'the tablet learns it was revoked',
      40_000,
    )

    await page.getByRole('heading', { name: 'Tablet revoked' }).waitFor({ timeout: 15_000 })
    await expect
      .poll(async () => Object.keys(await databases(page)).filter((n) => n.startsWith('clinic-mesh')), {
        timeout: 10_000,
      })
      .toEqual([])
    expect(await appItems()).toEqual([])
    // and a reload finds nothing to open: no session, no key, no copy
    await page.reload()
    await page.getByRole('heading', { name: 'Tablet revoked' }).waitFor({ timeout: 15_000 })
    expect(Object.keys(await databases(page)).filter((n) => n.startsWith('clinic-mesh'))).toEqual([])
  }, 150_000)
})
