import { afterAll, beforeAll, beforeEach } from 'vitest'
import { mkdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core'
import { TEST_ADMIN_PASSWORD, pollDevice, testPassword, type DeviceProcess } from './device-process.js'
import { WebClinic } from './web-devices.js'

export const SCREENSHOTS = fileURLToPath(new URL('../../.artifacts/screenshots/', import.meta.url))

const CHROMIUM = {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
}

/** The machine's Chromium (never a downloaded one), headless, quiet. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch(CHROMIUM)
}

/**
 * A tablet whose browser profile lives in `userDataDir` (Chromium's `--user-data-dir`: IndexedDB, localStorage,
 * caches...), so a test can read what the browser left on disk once the context is closed.
 */
export function launchTabletProfile(userDataDir: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(userDataDir, {
    ...CHROMIUM,
    viewport: { width: 800, height: 1280 },
    deviceScaleFactor: 1,
    hasTouch: true,
  })
}

/** A tablet: its own browser context (own IndexedDB and localStorage), 10-inch portrait viewport. */
export async function openTablet(browser: Browser, url: string): Promise<Page> {
  const context = await browser.newContext({
    viewport: { width: 800, height: 1280 },
    deviceScaleFactor: 1,
    hasTouch: true,
  })
  const page = await context.newPage()
  // a reload re-opens the encrypted copy and syncs it from the node: seconds on a quiet box, more under CI load
  page.setDefaultTimeout(30_000)
  const log: string[] = []
  const keep = (line: string): void => {
    log.push(`${new Date().toISOString().slice(11, 23)} ${line}`)
    if (log.length > PAGE_LOG_LINES) log.shift()
  }
  page.on('pageerror', (e) => keep(`pageerror ${e.message}`))
  page.on('console', (m) => keep(`${m.type()} ${m.text()}`))
  pageLogs.set(page, { url, log })
  await page.goto(url)
  return page
}

const PAGE_LOG_LINES = 200
/** Every tablet page opened by the running test, with its console, for the failure report of `webSuite`. */
const pageLogs = new Map<Page, { url: string; log: string[] }>()

/** The app's own view (`window.clinicMesh`): the clinic's state, its error, and the browser repo's documents. */
function appState(page: Page): Promise<string> {
  return page
    .evaluate(() => {
      interface Handle {
        state: string
      }
      const cm = (
        globalThis as unknown as {
          clinicMesh?: {
            clinic?: { state: string; error?: string; store?: unknown }
            repo?: { handles: Record<string, Handle>; peers: string[] }
          }
        }
      ).clinicMesh
      const handles = Object.entries(cm?.repo?.handles ?? {})
      return JSON.stringify({
        clinic: cm?.clinic
          ? { state: cm.clinic.state, error: cm.clinic.error, store: !!cm.clinic.store }
          : null,
        peers: cm?.repo?.peers ?? null,
        documents: handles.length,
        notReady: handles
          .filter(([, h]) => h.state !== 'ready')
          .map(([id, h]) => `${id.slice(0, 6)}:${h.state}`),
      })
    })
    .catch((e: unknown) => String(e))
}

/** What a failed browser test leaves to read: each page's URL, alerts and console; each device's last log lines. */
async function failureReport(devices: readonly DeviceProcess[]): Promise<string> {
  const parts: string[] = []
  for (const [page, { url, log }] of pageLogs) {
    const alerts = page.isClosed()
      ? ['(closed)']
      : await page
          .locator('[role=alert], [role=status]')
          .allInnerTexts()
          .catch((e: unknown) => [String(e)])
    parts.push(`page opened at ${url}, now ${page.isClosed() ? '(closed)' : page.url()}`)
    parts.push(`  alerts/status: ${JSON.stringify(alerts)}`)
    parts.push(`  app: ${page.isClosed() ? '(closed)' : await appState(page)}`)
    parts.push(...log.slice(-60).map((l) => `  ${l}`))
  }
  for (const d of devices) {
    parts.push(`device ${d.init.name} (port ${d.port}), last log lines:`)
    parts.push(...d.recentLog.slice(-80).map((l) => `  ${l}`), ...d.stderr.slice(-20).map((l) => `  ! ${l}`))
  }
  return parts.join('\n')
}

/**
 * Signs a clinic user in on the tablet's login screen. The user (name, role, password `testPassword(name)`) is
 * created first through the device node's admin API if the clinic does not have it yet (from Node, so the
 * admin's session never enters the browser).
 */
export async function signIn(page: Page, name: string, role: string): Promise<void> {
  await ensureUser(new URL(page.url()).origin, name, role)
  await signInWith(page, name, testPassword(name))
}

/** Signs an existing user in on the sign-in screen and waits for the signed-in top bar. */
export async function signInWith(page: Page, name: string, password: string): Promise<void> {
  await page.getByLabel('User name').fill(name)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('button', { name: 'Switch user' }).waitFor()
}

async function ensureUser(origin: string, name: string, role: string): Promise<void> {
  const post = (path: string, body: unknown, token?: string): Promise<Response> =>
    fetch(`${origin}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    })
  // on a tablet that just joined, the register (and the admin in it) arrives over the mesh: retry until it has
  const admin = await pollDevice(
    async () => {
      const r = await post('/api/login', { user: 'admin', password: TEST_ADMIN_PASSWORD })
      return r.ok ? ((await r.json()) as { token: string }).token : undefined
    },
    `admin login on ${origin}`,
    20_000,
  )
  const r = await post('/api/users', { name, role, password: testPassword(name) }, admin)
  if (r.status !== 201) {
    const body = (await r.json()) as { error?: { name: string } }
    if (body.error?.name !== 'UserExistsError')
      throw new Error(`cannot create ${name} (${role}) on ${origin}: ${JSON.stringify(body)}`)
  }
}

export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOTS, { recursive: true })
  const path = `${SCREENSHOTS}${name}.png`
  // a full-page capture of a scrolled page draws the sticky status bar mid-page, over the content: start at the top
  await page.evaluate(() =>
    (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0),
  )
  await page.screenshot({ path, fullPage: true })
  return path
}

/**
 * A browser test that fails says what its pages (opened by `openTablet`) and `devices` were doing: the CI log is all
 * there is to read a rare failure by. Call it in the describe block (webSuite does).
 */
export function reportFailures(devices: () => readonly DeviceProcess[]): void {
  beforeEach((ctx) => {
    pageLogs.clear()
    ctx.onTestFailed(async () => console.error(`--- failure report ---\n${await failureReport(devices())}`))
  })
}

/** The browser and the clinic of one describe block: Chromium launched before its tests, both stopped after. */
export interface WebSuite {
  readonly browser: Browser
  /** Starts the block's clinic (see WebClinic.start); stopped after the block. */
  start(names: string[], opts?: { relay?: string }): Promise<WebClinic>
}

export function webSuite(): WebSuite {
  let browser: Browser | undefined
  let clinic: WebClinic | undefined
  beforeAll(async () => {
    browser = await launchChromium()
  })
  reportFailures(() => clinic?.devices ?? [])
  afterAll(async () => {
    await browser?.close()
    await clinic?.stop()
  })
  return {
    get browser(): Browser {
      if (browser === undefined) throw new Error('the browser starts in beforeAll: use it inside a test')
      return browser
    },
    async start(names, opts = {}) {
      clinic = await WebClinic.start(names, opts)
      return clinic
    },
  }
}

/** A phone in portrait (iPhone 12-14 class): the narrowest screen the clinic's staff use. */
export const PHONE = { width: 390, height: 844 }

/** How far the page reaches past the screen's right edge (0 when nothing overflows sideways). */
export function overflowOf(page: Page): Promise<number> {
  return page.evaluate(() => {
    const d = (
      globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }
    ).document.documentElement
    return d.scrollWidth - d.clientWidth
  })
}

/** The visible controls (buttons, links styled as buttons, inputs, selects) inside `root` smaller than 44 px tall. */
export async function smallTouchTargets(root: Locator): Promise<string[]> {
  return root
    .locator('button, a.button, input:not([type="radio"]):not([type="checkbox"]), select, label.choice')
    .evaluateAll((els) =>
      els
        .map(
          (e) => e as unknown as { getBoundingClientRect(): { height: number }; textContent: string | null },
        )
        .filter((e) => {
          const h = e.getBoundingClientRect().height
          return h > 0 && h < 44
        })
        .map((e) => `${(e.textContent ?? '').trim().slice(0, 40)} (${e.getBoundingClientRect().height} px)`),
    )
}
