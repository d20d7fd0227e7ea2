import type { BatchId, ItemId, PatientId, PrescriptionId } from '@clinic-mesh/contracts'
import { generateAdminKey } from '@clinic-mesh/mesh'
import { SimDevice } from './scale-device.js'
import { STOCK } from './scale-stats.js'

/** How long each step of a clinic's set-up may take (its directory at the others, the first settlements). */
export const SETUP_MS = 120_000
export const ITEM = 'amoxicillin-250' as ItemId
export const LOT = 'A1' as BatchId

/** every dispense names its own prescription and patient (unique within a process: a clinic lives in one) */
let serial = 0
export const dispense = (n = ++serial) =>
  ({
    kind: 'dispense',
    item: ITEM,
    batch: LOT,
    quantity: 1,
    patient: `pt_${n}` as PatientId,
    prescription: `rx_${n}` as PrescriptionId,
    prescriptionHash: `h${n}`,
    priceSeen: 5,
    stockSeen: STOCK,
  }) as const

/** The clinic's one medicine, listed by its admin, and the stock its pharmacist received. */
export const FORMULARY = {
  kind: 'formulary-update',
  item: ITEM,
  name: 'Amoxicillin',
  price: 5,
  status: 'active',
  controlled: false,
} as const
export const RECEIPT = {
  kind: 'receive',
  item: ITEM,
  batch: LOT,
  expiry: '2099-01-31',
  quantity: STOCK,
  unitCost: 2,
  supplier: 'S',
  grn: 'G1',
} as const

export const clinicName = (i: number): string => `clinic-${String(i).padStart(4, '0')}`

/** A clinic's set-up failed: `clinic` names it (the parent adds what the instances say about it). */
export class ClinicSetupError extends Error {
  override readonly name = 'ClinicSetupError'
  constructor(
    readonly clinic: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

/**
 * Clinic `i`: three simulated devices (each given every instance's URL, starting at its own unless `spread` is
 * 'clinic'), the first registers and creates the clinic, the others register and join, a formulary entry and a
 * receive are settled, and each tablet's first dispense (its log document of the period created, listed and mapped
 * by the relay once) has come back: the run measures the steady state after that.
 */
export async function setUpClinic(
  i: number,
  urls: string[],
  spread: 'device' | 'clinic',
  storage = false,
): Promise<SimDevice[]> {
  const clinic = clinicName(i)
  const admin = generateAdminKey()
  const devices = [0, 1, 2].map((j) => {
    const first = (i + (spread === 'clinic' ? 0 : j)) % urls.length
    const list = failoverOrder([...urls.slice(first), ...urls.slice(0, first)], clinic)
    return new SimDevice(list, clinic, `${clinic}-tab-${j}`, admin, storage)
  })
  const failure = (err: unknown): ClinicSetupError => {
    const here = devices.map(
      (d) =>
        `${d.name} on ${d.adapter.current} socket ${d.adapter.socket?.readyState} peers ${d.repo.peers.length} ` +
        `decided ${d.last?.decidedOps} watermark ${d.watermark}`,
    )
    const why = err instanceof Error ? err.message : String(err)
    return new ClinicSetupError(clinic, `${why}; devices: ${here.join(', ')}`, { cause: err })
  }
  try {
    const [d0, d1, d2] = devices as [SimDevice, SimDevice, SimDevice]
    d0.createClinic()
    const url = d0.directory.url as string
    const s0 = await d0.register(url)
    // 200: registered by an attempt whose answer timed out on a loaded box (register asks again)
    if (s0 !== 201 && s0 !== 200) throw new Error(`${clinic}: registration answered ${s0}`)
    // the clinic's other devices register at once (each at its first instance)
    await Promise.all(
      [d1, d2].map(async (d) => {
        const s = await d.register(url)
        if (s !== 200) throw new Error(`${d.name}: registration answered ${s}`)
      }),
    )
    await Promise.all([d1.join(url, SETUP_MS), d2.join(url, SETUP_MS)])
    d0.append([FORMULARY], 'admin')
    d0.append([RECEIPT])
    await Promise.all(devices.map((d) => d.follow(SETUP_MS)))
    await d0.until((d) => d.decidedOps >= 2, SETUP_MS, 'the first two operations settled')
    for (const d of [d1, d2]) d.append([dispense()])
    await Promise.all(
      devices.map((d) => d.until((x) => (x.watermarks[d.name] ?? 0) >= d.written, SETUP_MS, 'warm-up')),
    )
  } catch (err) {
    const e = failure(err)
    await Promise.all(devices.map((d) => d.close().catch(() => undefined)))
    throw e
  }
  for (const d of devices) d.settlements.length = 0
  return devices
}

/**
 * As the device's relay link orders its URLs (apps/device/src/relay-url.ts `failoverOrder`, not exported by the
 * device app): the first as given, the others rotated by an FNV-1a hash of the clinic id.
 */
function failoverOrder(urls: readonly string[], clinic: string): string[] {
  if (urls.length <= 2) return [...urls]
  let h = 0x811c9dc5
  for (const byte of new TextEncoder().encode(clinic)) h = Math.imul(h ^ byte, 0x01000193) >>> 0
  const rest = urls.slice(1)
  const k = h % rest.length
  return [urls[0]!, ...rest.slice(k), ...rest.slice(0, k)]
}
