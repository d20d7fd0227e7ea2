import type { AutomergeUrl, DocHandle, PeerId } from '@automerge/automerge-repo'
import { Repo } from '@automerge/automerge-repo'
import type {
  ClinicDirectoryDoc,
  ClinicId,
  DeviceId,
  DocUrl,
  LocationId,
  Role,
  SettledInventoryDoc,
  UserId,
} from '@clinic-mesh/contracts'
import type { DeviceLogDoc, OperationBody } from '@clinic-mesh/ledger'
import { DeviceLog, appendOperation, newLogDoc, periodOf } from '@clinic-mesh/ledger'
import type { AdminKeyPair } from '@clinic-mesh/mesh'
import { MemoryStorage, createTestClinic } from '@clinic-mesh/testing'
import {
  FailoverRelayAdapter,
  enrol,
  httpBase,
  newDeviceKey,
  nextLoopbackAddress,
  prove,
  type DeviceKey,
} from './scale-auth.js'

export const SITE = 'site-a' as LocationId

/**
 * Wall-clock time in ms since the epoch, sub-millisecond: comparable across the generator processes (each process's
 * own `performance.now()` counts from its own start).
 */
export const epochMs = (): number => performance.timeOrigin + performance.now()

/**
 * One settled operation: when it was written on the device (`epochMs()`) and how long until the device saw it
 * settled.
 */
export interface Settlement {
  writtenAt: number
  lagMs: number
}

/**
 * The lightest honest device for the scale run: an automerge-repo over WebSocket to a list of relay instances, the
 * clinic directory, and a ledger DeviceLog appending to its log document of the period (hash-chained, signed by
 * nothing more than the device node signs). It registers through `POST /api/clinics` with its enrolment and a signed
 * nonce, connects to /sync with a fresh proof, and reads the relay's settled inventory document back as a device does:
 * its watermark for this device says which of its operations are decided.
 */
export class SimDevice {
  readonly repo: Repo
  readonly adapter: FailoverRelayAdapter
  readonly clinic: string
  readonly name: string
  readonly log: DeviceLog
  readonly key: DeviceKey = newDeviceKey()
  readonly #admin: AdminKeyPair
  directory!: DocHandle<ClinicDirectoryDoc>
  readonly #logDocs = new Map<string, DocHandle<DeviceLogDoc>>()
  #inventory: DocHandle<SettledInventoryDoc> | undefined
  /** seq → epochMs() when written, until seen settled */
  readonly #written = new Map<number, number>()
  readonly settlements: Settlement[] = []
  /** the highest watermark of this device seen in the settled inventory */
  watermark = 0
  /** every settled inventory seen, last one */
  last: SettledInventoryDoc | undefined

  /**
   * `storage`: the repo keeps its documents (in memory) and so has a `storageId`, as a tablet's repo does: the relay
   * then keeps (and persists) a sync state for it per document, and a device that fails over resumes from it.
   * Without, the device is ephemeral to the relay (no sync state kept).
   */
  constructor(syncUrls: string[], clinic: string, name: string, admin: AdminKeyPair, storage = false) {
    this.clinic = clinic
    this.name = name
    this.#admin = admin
    this.adapter = new FailoverRelayAdapter(syncUrls, this.key, nextLoopbackAddress())
    this.repo = new Repo({
      network: [this.adapter],
      peerId: `peer-${name}-${Math.random().toString(36).slice(2)}` as PeerId,
      ...(storage ? { storage: new MemoryStorage() } : {}),
    })
    this.log = new DeviceLog({
      device: name as DeviceId,
      session: { user: `u-${name}` as UserId, role: 'pharmacist', site: SITE },
    })
  }

  /** First device of a clinic: its directory and an empty records layout. */
  createClinic(): void {
    this.directory = createTestClinic(this.repo, this.clinic)
  }

  /**
   * `POST /api/clinics` at the instance in use: enrolment, the admin key, a signed relay nonce. A relay busy with
   * other clinics' registrations may not answer the challenge or the registration in time, or answer 429/5xx: ask
   * again (a fresh nonce each time), backing off 1, 2, 4, 8, 8, … s (with jitter) so a loaded relay is not hammered.
   */
  async register(directoryUrl: string, attempts = 8): Promise<number> {
    for (let i = 1; ; i++) {
      try {
        const status = await this.#register(directoryUrl)
        if (status !== 429 && status < 500) return status
        if (i >= attempts) return status
      } catch (err) {
        if (i >= attempts)
          throw new Error(`${this.name}: registration, ${i} attempts: ${String(err)}`, { cause: err })
      }
      const backoff = Math.min(1000 * 2 ** (i - 1), 8000)
      await new Promise((r) => setTimeout(r, backoff * (0.75 + Math.random() / 2)))
    }
  }

  async #register(directoryUrl: string): Promise<number> {
    const base = httpBase(this.adapter.current)
    const peerId = this.repo.peerId as string
    const body = {
      clinic: this.clinic,
      directoryUrl,
      peerId,
      devicePeerId: this.key.peerId,
      enrolment: enrol(this.clinic, this.key, this.name, this.#admin),
      adminPublicKeys: [Buffer.from(this.#admin.publicKey).toString('hex')],
      proof: await prove(
        base,
        this.key,
        'register',
        [this.clinic, directoryUrl, peerId, this.key.peerId],
        this.adapter.address,
      ),
    }
    const res = await fetch(`${base}/api/clinics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    })
    await res.body?.cancel()
    return res.status
  }

  /** A device joining after registration: the directory through the relay (it may not have it yet: wait). */
  async join(directoryUrl: string, timeoutMs: number): Promise<void> {
    const h = await this.repo.find<ClinicDirectoryDoc>(directoryUrl as AutomergeUrl, {
      allowableStates: ['ready', 'unavailable'],
    })
    await whenReady(h, timeoutMs, `${this.name}: the clinic directory`)
    this.directory = h
  }

  /** Append operations to this device's log of the period (listing it in the directory the first time). */
  append(bodies: OperationBody[], role: Role = 'pharmacist'): void {
    this.log.setSession({ ...this.log.session, role })
    const now = epochMs()
    for (const body of bodies) {
      const op = this.log.append(body)
      this.#written.set(op.seq, now)
      // a run that crosses midnight (UTC) starts the next period's log, as a device does
      const period = periodOf(op.hlc.wall)
      let h = this.#logDocs.get(period)
      if (!h) {
        h = this.repo.create<DeviceLogDoc>(newLogDoc(this.clinic as ClinicId, this.log.device, period))
        this.#logDocs.set(period, h)
        const url = h.url as string as DocUrl
        this.directory.change((d) => {
          d.ledgerLogs[this.log.device] ??= {}
          d.ledgerLogs[this.log.device]![period] = url
        })
      }
      h.change((d) => appendOperation(d, op))
    }
  }

  /** operations written (seq of the last one) */
  get written(): number {
    return this.log.head().seq
  }

  /** Follow the settled inventory document once the relay listed it: record each operation's lag as it settles. */
  async follow(timeoutMs: number): Promise<void> {
    const dir = this.directory
    const url = await withTimeout(
      new Promise<string>((resolve) => {
        const check = (): void => {
          const u = dir.doc().settlement.inventory
          if (u) {
            dir.off('change', check)
            resolve(u)
          }
        }
        dir.on('change', check)
        check()
      }),
      timeoutMs,
      `${this.name}: settlement.inventory in the directory`,
    )
    const h = await this.repo.find<SettledInventoryDoc>(url as AutomergeUrl, {
      allowableStates: ['ready', 'unavailable'],
    })
    await whenReady(h, timeoutMs, `${this.name}: the settled inventory`)
    this.#inventory = h
    const seen = (): void => {
      const d = h.doc()
      this.last = d
      const wm = d.watermarks[this.name] ?? 0
      if (wm <= this.watermark) return
      const now = epochMs()
      for (let s = this.watermark + 1; s <= wm; s++) {
        const t = this.#written.get(s)
        if (t === undefined) continue
        this.#written.delete(s)
        this.settlements.push({ writtenAt: t, lagMs: now - t })
      }
      this.watermark = wm
    }
    h.on('change', seen)
    seen()
  }

  /** Until the settled inventory satisfies `until` (checked on each change). */
  async until(pred: (d: SettledInventoryDoc) => boolean, timeoutMs: number, what: string): Promise<void> {
    const h = this.#inventory
    if (!h) throw new Error(`${this.name}: not following the settled inventory`)
    await withTimeout(
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (!pred(h.doc())) return
          h.off('change', check)
          resolve()
        }
        h.on('change', check)
        check()
      }),
      timeoutMs,
      `${this.name}: ${what}`,
    )
  }

  async close(): Promise<void> {
    await this.repo.shutdown()
  }
}

/**
 * Until the handle is ready, for up to `ms`: automerge-repo's `whenReady` gives up after its own 60 s (a device
 * reconnecting to a loaded relay may take longer to be sent the document), so it is asked again until the deadline.
 */
async function whenReady(h: DocHandle<unknown>, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms
  for (;;) {
    try {
      return await withTimeout(h.whenReady(['ready']), Math.max(1, deadline - performance.now()), what)
    } catch (err) {
      if (!(err instanceof Error && err.name === 'TimeoutError') || performance.now() >= deadline) throw err
    }
  }
}

export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not within ${ms} ms: ${what}`)), ms)
  })
  try {
    return await Promise.race([p, t])
  } finally {
    clearTimeout(timer)
  }
}
