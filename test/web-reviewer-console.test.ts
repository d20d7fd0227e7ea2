import type { BatchId, ItemId, PatientId, PrescriptionId } from '@clinic-mesh/contracts'
import type { OperationBody } from '@clinic-mesh/ledger'
import { tempDir, type TempDir } from '@clinic-mesh/testing'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceCluster, pollDevice, testPassword, type DeviceProcess } from './helpers/device-process.js'
import { TestDevice, qty } from './helpers/relay-device.js'
import { RelayProcess } from './helpers/relay-process.js'
import { launchChromium, openTablet, reportFailures, screenshot } from './helpers/web-browser.js'

const MORPHINE = 'itm_morphine_10' as ItemId
const LOT = 'MOR-2031-A'
const PRICE = 250

interface DeviceStatus {
  device: { id: string }
  clinic: { id: string; directoryUrl: string; ready: boolean }
  peers: unknown[]
  relay: { connected: boolean; registered: boolean }
  pending: { ops: number }
}
interface StockLine {
  item: string
  batch: string
  settled: number
  tentative: number
}
interface ConflictJson {
  id: string
  kind: string
  status: string
  critical: boolean
  device: string
  user: string
  patient: string
  prescription: string
  quantity: number
  seen: { stock?: number }
  authority: { stock?: number }
  resolution: { by: string; approvedBy: { user: string; role: string } | null } | null
}

const status = async (d: DeviceProcess): Promise<DeviceStatus> =>
  (await d.api<DeviceStatus>('GET', '/api/status')).body
const line = async (d: DeviceProcess): Promise<StockLine | undefined> =>
  (await d.api<{ lines: StockLine[] }>('GET', '/api/stock')).body.lines.find((l) => l.batch === LOT)

describe('reviewer console (relay-served page, real relay + two device processes, Chromium)', () => {
  let browser: Browser
  let dir: TempDir
  let relay: RelayProcess
  let cluster: DeviceCluster | undefined
  const testDevices: TestDevice[] = []
  reportFailures(() => cluster?.devices ?? [])

  beforeAll(async () => {
    dir = await tempDir('web-reviewer-')
    ;[browser, relay] = await Promise.all([launchChromium(), RelayProcess.start(dir.path)])
  })
  afterAll(async () => {
    await browser?.close()
    await Promise.all(testDevices.map((d) => d.close()))
    await cluster?.stop()
    await relay?.stop('SIGKILL')
    await dir?.remove()
  })

  it('serves the console at / and the build assets with their types; refuses traversal and the tablet app', async () => {
    const base = `http://127.0.0.1:${relay.port}`
    const page = await fetch(`${base}/`)
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8')
    const html = await page.text()
    expect(html).toContain('conflict review')
    const script = /src="(\/assets\/review-[^"]+\.js)"/.exec(html)?.[1]
    expect(script).toBeDefined()
    const js = await fetch(`${base}${script}`)
    expect(js.status).toBe(200)
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    const css = /href="(\/assets\/[^"]+\.css)"/.exec(html)?.[1]
    expect((await fetch(`${base}${css}`)).headers.get('content-type')).toBe('text/css; charset=utf-8')
    for (const bad of [
      '/index.html',
      '/sw.js',
      '/assets/%2e%2e/%2e%2e/package.json',
      '/assets/..%2f..%2fpackage.json',
      '/assets/.hidden',
      '/%00',
      '/assets/nope.js',
    ]) {
      const res = await fetch(`${base}${bad}`)
      expect(res.status, bad).toBe(404)
      expect(((await res.json()) as { error: { name: string } }).error.name, bad).toBe('RouteNotFoundError')
    }
    // the API next to it is unchanged
    expect((await fetch(`${base}/api/status`)).headers.get('content-type')).toBe(
      'application/json; charset=utf-8',
    )
    expect((await fetch(`${base}/api/nope`)).status).toBe(404)
  })

  it('two partitioned devices over-dispense one lot; the reviewer resolves the conflict in the console; devices get the settled figure', async () => {
    const t0 = Date.now()
    cluster = await DeviceCluster.start(['pharmacy-a', 'pharmacy-b'], {
      relay: `ws://127.0.0.1:${relay.port}`,
    })
    const [a, b] = cluster.devices as [DeviceProcess, DeviceProcess]
    await Promise.all([a.ready(), b.ready()])
    await pollDevice(
      async () => (await status(a)).relay.connected && (await status(b)).relay.connected,
      'both devices linked to the relay',
      20_000,
    )
    const clinic = (await status(a)).clinic

    // the formulary is the central office's: the clinic admin lists morphine as a controlled drug (critical conflicts)
    const formulary = {
      id: 'form-mor',
      item: MORPHINE,
      name: 'Morphine 10 mg',
      price: PRICE,
      controlled: true,
    }
    expect(
      (await a.api('POST', '/api/stock/formulary', formulary, { as: { name: 'admin', role: 'admin' } }))
        .status,
    ).toBe(201)
    await pollDevice(
      async () => {
        const inv = await relay.api<{ inventory: { items: Record<string, unknown> } }>(
          'GET',
          `/api/inventory?clinic=${clinic.id}`,
        )
        return inv.body.inventory?.items[MORPHINE] !== undefined
      },
      'formulary settled at the relay',
      20_000,
    )
    // each pharmacist signs in on their tablet while the clinic is still connected
    const pharmA = { name: 'pharm-a', role: 'pharmacist' }
    const pharmB = { name: 'pharm-b', role: 'pharmacist' }
    await Promise.all([a.token(pharmA), b.token(pharmB)])
    // the central reviewer and the supervisor are users of the clinic's register too (the relay checks them there)
    await Promise.all([
      a.token({ name: 'rev1', role: 'reviewer' }),
      a.token({ name: 'sup1', role: 'supervisor' }),
    ])

    const grn = {
      id: 'grn-mor-1',
      item: MORPHINE,
      batch: LOT,
      expiry: '2031-01-31',
      quantity: 10,
      unitCost: 90,
      supplier: 'CMST',
      grn: 'GRN-77',
    }
    expect((await a.api('POST', '/api/stock/receipts', grn, { as: pharmA })).status).toBe(201)
    await pollDevice(
      async () => (await line(a))?.settled === 10 && (await line(b))?.settled === 10,
      'receipt settled on both devices',
      20_000,
    )

    // partition: no mesh between the two, no relay either
    await Promise.all([
      a.api('POST', '/api/network', { mesh: false, relay: false }),
      b.api('POST', '/api/network', { mesh: false, relay: false }),
    ])
    await pollDevice(async () => {
      const [sa, sb] = await Promise.all([status(a), status(b)])
      return !sa.relay.connected && !sb.relay.connected && sa.peers.length === 0 && sb.peers.length === 0
    }, 'devices partitioned')
    const rx = (n: number) => ({
      patient: `pt_test_${n}`,
      prescription: `rx_test_${n}`,
      prescriptionHash: `h${n}`,
      priceSeen: PRICE,
      stockSeen: 10,
    })
    const da = await a.api(
      'POST',
      '/api/stock/dispenses',
      { id: 'disp-a-1', item: MORPHINE, batch: LOT, quantity: 7, ...rx(1) },
      { as: pharmA },
    )
    const db = await b.api(
      'POST',
      '/api/stock/dispenses',
      { id: 'disp-b-1', item: MORPHINE, batch: LOT, quantity: 6, ...rx(2) },
      { as: pharmB },
    )
    expect([da.status, db.status]).toEqual([201, 201])
    // each saw only its own dispense: the partition held
    expect((await line(a))?.tentative).toBe(3)
    expect((await line(b))?.tentative).toBe(4)

    const healed = Date.now()
    await Promise.all([
      a.api('POST', '/api/network', { relay: true }),
      b.api('POST', '/api/network', { relay: true }),
    ])
    const open = await pollDevice(
      async () => {
        const r = await relay.api<{ conflicts: ConflictJson[] }>(
          'GET',
          `/api/conflicts?status=open&clinic=${clinic.id}`,
        )
        return r.body.conflicts.length === 1 ? r.body.conflicts[0] : undefined
      },
      'conflict raised at the relay',
      20_000,
    )
    const atRelay = Date.now() - healed
    expect(open).toMatchObject({ kind: 'insufficient-stock', critical: true, seen: { stock: 10 } })
    expect(open.user).toMatch(/pharm-[ab]/) // the signed-in pharmacist of the tablet whose dispense came second
    const first = open.device === (await status(a)).device.id ? 6 : 7 // the other dispense settled first
    const left = 10 - first
    expect(open.authority.stock).toBe(left)

    // the reviewer opens the console served by the relay and signs in once (clinic, user, password); the relay checks
    // the password against the clinic's register: a wrong one is refused
    const page = await openTablet(browser, `http://127.0.0.1:${relay.port}/`)
    await page.getByLabel('Clinic', { exact: true }).fill(clinic.id)
    await page.getByLabel('User', { exact: true }).fill('rev1')
    await page.getByLabel('Password', { exact: true }).fill('not-my-password')
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()
    await page.getByTestId('signin-error').getByText('Wrong user or password.').waitFor()
    expect(await page.locator('[data-conflict-id]').count()).toBe(0) // nothing shown before signing in
    await page.getByLabel('Password', { exact: true }).fill(testPassword('rev1'))
    // (a click within the second of back-off after the wrong password is answered "too many wrong passwords": send
    // again until the relay signs in)
    await expect
      .poll(
        async () => {
          if ((await page.getByTestId('signed-in-as').count()) === 0)
            await page.getByRole('button', { name: 'Sign in', exact: true }).click()
          await page
            .getByTestId('signed-in-as')
            .or(page.getByText('Too many wrong passwords.'))
            .first()
            .waitFor()
          return page.getByTestId('signed-in-as').count()
        },
        { timeout: 15_000, interval: 300 },
      )
      .toBe(1)
    // the clinic's name for its own signed-in reviewer (it comes with the console's first status read, which follows
    // the sign-in: until then the header names the clinic id)
    await expect
      .poll(() => page.getByTestId('signed-in-as').innerText(), { timeout: 15_000 })
      .toBe(`Signed in as rev1 (reviewer) · clinic Test Clinic`)
    const card = page.locator(`[data-conflict-id="${open.id}"]`)
    await card.waitFor({ timeout: 15_000 })
    const inConsole = Date.now() - healed
    const text = await card.innerText()
    for (const want of [
      'Not enough stock',
      'Critical',
      'Morphine 10 mg',
      LOT,
      open.patient,
      open.prescription,
      // names for the clinic's own reviewer: the device's enrolled name, not its id (issue 15 item 11)
      open.device === (await status(a)).device.id ? 'pharmacy-a' : 'pharmacy-b',
      open.user,
      String(open.quantity),
    ])
      expect(text).toContain(want)
    await expect(page.getByTestId('conflict-chart').count()).resolves.toBe(1)
    expect(await page.getByTestId('conflicts-by-clinic').innerText()).toContain('Not enough stock')

    await card.getByRole('radio', { name: /Partial dispense/ }).check()
    await card.getByLabel(/Quantity actually handed out/).fill(String(left))
    await card.getByLabel('Note for the record').fill('handed out what the lot held')
    // critical without a second approver: the relay answers 403 and the console says so
    await card.getByRole('button', { name: 'Resolve conflict' }).click()
    const refusal = card.getByTestId('resolution-error')
    await refusal.getByText('Supervisor approval needed.').waitFor()
    expect(await refusal.innerText()).toMatch(/Supervisor approval needed[\s\S]*ResolutionApprovalError/)
    expect(await page.locator(':focus').getAttribute('id')).toBe(`${open.id}-approver`) // focus went to the approver field
    await card.getByText('1 earlier attempt refused').waitFor()
    await screenshot(page, 'reviewer-console-approval-refused')

    // before the decision both devices hold the relay's figure: what the first dispense left
    await pollDevice(
      async () => (await line(a))?.settled === left && (await line(b))?.settled === left,
      `settled ${left} on both devices`,
      20_000,
    )
    await card.getByLabel(/Second approver: supervisor user id/).fill('sup1')
    await card.getByLabel('Second approver: password').fill(testPassword('sup1'))
    await card.getByRole('button', { name: 'Resolve conflict' }).click()
    const resolvedAt = Date.now()
    // the settled outcome reaches both devices: the lot is empty, nothing of theirs is pending
    const devicesSettled = pollDevice(
      async () => {
        const [la, lb, sa, sb] = await Promise.all([line(a), line(b), status(a), status(b)])
        return (
          la?.settled === 0 &&
          lb?.settled === 0 &&
          la.tentative === 0 &&
          lb.tentative === 0 &&
          sa.pending.ops === 0 &&
          sb.pending.ops === 0
        )
      },
      'settled 0 on both devices',
      20_000,
    ).then(() => Date.now() - resolvedAt)
    await card.waitFor({ state: 'detached' }) // it left the open queue
    await page.getByText('No open conflicts').waitFor()
    const confirmation = page.getByTestId('resolved-confirmation')
    expect(await confirmation.innerText()).toContain(
      `Not enough stock · Morphine 10 mg · ${open.patient} — Partial dispense of ${left}.`,
    )
    await confirmation.getByRole('button', { name: 'Show resolved' }).click()
    expect(await page.getByRole('radio', { name: /Resolved/ }).isChecked()).toBe(true)
    const done = page.locator(`[data-conflict-id="${open.id}"]`)
    await done.getByTestId('resolution').waitFor()
    expect(await done.getByTestId('resolution').innerText()).toBe(
      `Partial dispense of ${left} by usr_rev1 (reviewer), approved by usr_sup1 (supervisor).`,
    )
    expect(await done.getAttribute('data-status')).toBe('resolved')
    const shot = await screenshot(page, 'reviewer-console-resolved')

    const api = await relay.api<{ conflicts: ConflictJson[] }>('GET', `/api/conflicts?clinic=${clinic.id}`)
    expect(api.body.conflicts).toMatchObject([
      {
        id: open.id,
        status: 'resolved',
        resolution: { by: 'usr_rev1', approvedBy: { user: 'usr_sup1', role: 'supervisor' } },
      },
    ])

    const toDevices = await devicesSettled
    console.warn(
      `reviewer console: setup ${healed - t0} ms; heal → conflict at relay ${atRelay} ms, → in console ${inConsole} ms; resolve click → settled 0 on both devices ${toDevices} ms; screenshot ${shot}`,
    )
  })

  it('several clinics and kinds: chart and clinic table, clinic filter, a plain accept without approver, a refusal that does not fit', async () => {
    const AMOX = 'itm_amox_500' as ItemId
    const formulary: OperationBody = {
      kind: 'formulary-update',
      item: AMOX,
      name: 'Amoxicillin 500 mg',
      price: 120,
      status: 'active',
      controlled: false,
    }
    const dispense = (
      n: number,
      quantity: number,
      priceSeen: number,
      item: ItemId = AMOX,
    ): OperationBody => ({
      kind: 'dispense',
      item,
      batch: item === AMOX ? ('AMX-1' as BatchId) : null,
      quantity,
      patient: `pt_${n}` as PatientId,
      prescription: `rx_${n}` as PrescriptionId,
      prescriptionHash: `h${n}`,
      priceSeen,
      stockSeen: 10,
    })
    const north = new TestDevice(relay.syncUrl, 'clinic-north', 'tab-n1')
    const south = new TestDevice(relay.syncUrl, 'clinic-south', 'tab-s1')
    testDevices.push(north, south)
    for (const d of [north, south]) {
      d.createClinic()
      expect((await d.register(relay)).status).toBe(201)
      d.append([formulary], 'admin')
    }
    // north: 8 then 5 from a lot of 10 (not enough stock), then one at an old price; south: an item nobody listed
    north.append([
      {
        kind: 'receive',
        item: AMOX,
        batch: 'AMX-1' as BatchId,
        expiry: '2031-06-30',
        quantity: 20,
        unitCost: 40,
        supplier: 'CMST',
        grn: 'G-N1',
      },
    ])
    north.append([dispense(11, 8, 120), dispense(12, 15, 120), dispense(13, 2, 100)])
    south.append([dispense(21, 1, 120, 'itm_ghost' as ItemId)])
    const byKind = await pollDevice(
      async () => {
        const r = await relay.api<{ conflicts: (ConflictJson & { clinic: string })[] }>(
          'GET',
          '/api/conflicts?status=open',
        )
        const mine = r.body.conflicts.filter(
          (c) => c.clinic === 'clinic-north' || c.clinic === 'clinic-south',
        )
        return mine.length === 3 ? new Map(mine.map((c) => [c.kind, c])) : undefined
      },
      'three conflicts in two clinics',
      20_000,
    )
    expect([...byKind.keys()].sort()).toEqual(['insufficient-stock', 'price-changed', 'unknown-item'])
    const short = byKind.get('insufficient-stock')!
    const price = byKind.get('price-changed')!

    const page = await openTablet(browser, `http://127.0.0.1:${relay.port}/`)
    // the relay's content security policy must not block anything the console does
    const blocked: string[] = []
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) blocked.push(m.text())
    })
    // these clinics have no user accounts: the relay's operator token reads every clinic and decides for them
    await page.getByText('Relay operator').click()
    await page.getByLabel('Operator token').fill(relay.operatorToken)
    await page.getByRole('button', { name: 'Use operator token' }).click()
    await page.getByTestId('signed-in-as').waitFor()
    await page.reload() // the sign-in is kept for the tab (sessionStorage)
    expect(await page.getByTestId('signed-in-as').innerText()).toBe('Relay operator · every clinic')
    await page.locator(`[data-conflict-id="${short.id}"]`).waitFor()
    const table = await page.getByTestId('conflicts-by-clinic').innerText()
    for (const row of [
      'clinic-north\tNot enough stock\t1',
      'clinic-north\tPrice changed\t1',
      'clinic-south\tItem not in formulary\t1',
    ])
      expect(table).toContain(row)
    expect(await page.getByTestId('conflict-chart').locator('rect').count()).toBeGreaterThanOrEqual(3) // one bar part per kind at least
    const clinics = await page.getByTestId('clinic-status').innerText()
    expect(clinics).toMatch(/clinic-north\t1\t[^\t]+\t0\t2\t0/) // one device, nothing waiting, two open
    expect(clinics).toMatch(/clinic-south\t1\t[^\t]+\t0\t1\t0/)

    await page.getByLabel('Clinic', { exact: true }).selectOption('clinic-south')
    await pollDevice(
      async () => (await page.getByTestId('conflict').count()) === 1,
      'only the south clinic shown',
    )
    expect(await page.getByTestId('conflict').innerText()).toContain('Item not in formulary')
    await page.getByLabel('Clinic', { exact: true }).selectOption('')

    // a decision that would take the lot below zero: 422, said plainly, the conflict stays open
    const card = page.locator(`[data-conflict-id="${short.id}"]`)
    await card.getByRole('radio', { name: /Partial dispense/ }).check()
    await card.getByLabel(/Quantity actually handed out/).fill(String((short.authority.stock ?? 0) + 1))
    await card.getByRole('button', { name: 'Resolve conflict' }).click()
    await card.getByTestId('resolution-error').waitFor()
    expect(await card.getByTestId('resolution-error').innerText()).toMatch(
      /does not fit this conflict[\s\S]*ResolutionNotApplicableError/,
    )
    expect(await card.getAttribute('data-status')).toBe('open')

    // not critical: accepted as recorded without a second approver
    const priceCard = page.locator(`[data-conflict-id="${price.id}"]`)
    expect(await priceCard.innerText()).toMatch(/Unit price\s+(\(differs\)\s+)?1\.00\s+1\.20/)
    await priceCard.getByRole('radio', { name: /Accept/ }).check()
    await priceCard.getByRole('button', { name: 'Resolve conflict' }).click()
    await priceCard.waitFor({ state: 'detached' })
    expect(await page.getByTestId('resolved-confirmation').innerText()).toContain(
      'Price changed · Amoxicillin 500 mg · pt_13 — Accepted as recorded.',
    )
    await screenshot(page, 'reviewer-console-two-clinics')
    expect(blocked).toEqual([])
    await north.settled((_d, st) => qty(st, 'AMX-1') === 20 - 8 - 2)
  })
})
