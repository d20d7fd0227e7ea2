/**
 * One generator process of P12 (see scale-gen.ts): sets up its range of clinics at the relay instances, writes
 * their dispenses open loop when told, drains, and checks its clinics' invariants. Times are epoch ms (`epochMs()`),
 * comparable with the parent's and the other generators'.
 */
import type { SettledInventoryDoc } from '@clinic-mesh/contracts'
import type { InventoryState } from '@clinic-mesh/ledger'
import { verifySettledInventory } from '@clinic-mesh/ledger'
import { onBenchMessage, sendBench } from './ipc-port.js'
import { setLoopbackBase } from './scale-auth.js'
import { ClinicSetupError, LOT, dispense, setUpClinic } from './scale-clinic.js'
import { SITE, epochMs, type SimDevice } from './scale-device.js'
import type { GenMessage, GenOp, GenReport, GenRequest } from './scale-gen.js'
import type { ClinicStatus } from './scale-relay.js'
import { checkClinics } from './scale-stats.js'

const clinics: SimDevice[][] = []
/** each device's index among all generators' devices (clinic × 3 + device): its phase in the open loop */
const globalIndex = new Map<SimDevice, number>()
const timers: NodeJS.Timeout[] = []
let marked: string[] = []

const devices = (): SimDevice[] => clinics.flat()

/** Sets up clinics first … first+count-1 with `concurrency` at a time; the first failure stops it (and is thrown). */
async function setUp(op: Extract<GenOp, { do: 'setup' }>): Promise<number> {
  const t0 = performance.now()
  setLoopbackBase(op.first * 3)
  let next = op.first
  const end = op.first + op.count
  let failed: Error | undefined
  const worker = async (): Promise<void> => {
    while (next < end && failed === undefined) {
      const i = next++
      try {
        const c = await setUpClinic(i, op.urls, op.spread, op.storage)
        clinics.push(c)
        c.forEach((d, j) => globalIndex.set(d, i * 3 + j))
        void sendBench(process, { setUp: c[0]!.clinic } satisfies GenMessage)
      } catch (err) {
        failed ??= err instanceof Error ? err : new Error(String(err))
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, op.concurrency) }, worker))
  if (failed !== undefined) throw failed
  return (performance.now() - t0) / 1000
}

function push(op: Extract<GenOp, { do: 'push' }>): void {
  const now = epochMs()
  devices().forEach((d) => {
    const g = globalIndex.get(d) ?? 0
    const at = op.startAt + (g / op.totalDevices) * op.intervalMs
    timers.push(
      setTimeout(
        () => {
          d.append([dispense()])
          timers.push(setInterval(() => d.append([dispense()]), op.intervalMs))
        },
        Math.max(0, at - now),
      ),
    )
  })
}

async function drain(timeoutMs: number): Promise<string | null> {
  try {
    await Promise.all(
      devices().map((d) =>
        d.until(
          (doc) => (doc.watermarks[d.name] ?? 0) >= d.written,
          timeoutMs,
          `all ${d.written} operations settled`,
        ),
      ),
    )
    return null
  } catch (err) {
    return err instanceof Error ? err.message : String(err)
  }
}

function report(relayKey: string, settlers: ClinicStatus[]): GenReport {
  const all = devices()
  const statuses = new Map(settlers.map((s) => [s.clinic, s]))
  const violations = checkClinics(clinics, statuses, (doc: SettledInventoryDoc, clinic: string) => {
    const plain = JSON.parse(JSON.stringify(doc)) as SettledInventoryDoc
    const ok = verifySettledInventory(plain, { relayKey, clinic }).ok
    const state = JSON.parse(doc.state) as InventoryState
    const cells: Record<string, number> = { ...state.stock[SITE] }
    return { signed: ok, stock: cells[LOT] ?? 0 }
  })
  return {
    settlements: all.flatMap((d) => d.settlements),
    violations,
    written: all.reduce((a, d) => a + d.written, 0),
    settledOnDevices: all.reduce((a, d) => a + d.watermark, 0),
    moved: all.filter((d, i) => marked[i] !== undefined && d.adapter.current !== marked[i]).length,
  }
}

async function stop(): Promise<never> {
  for (const t of timers) clearInterval(t)
  await Promise.all(devices().map((d) => d.close().catch(() => undefined)))
  process.exit(0)
}

async function run(op: GenOp): Promise<unknown> {
  switch (op.do) {
    case 'setup':
      return setUp(op)
    case 'push':
      return push(op)
    case 'mark':
      marked = devices().map((d) => d.adapter.current)
      return
    case 'halt':
      for (const t of timers.splice(0)) clearInterval(t)
      return
    case 'drain':
      return drain(op.timeoutMs)
    case 'report':
      return report(op.relayKey, op.settlers)
    case 'stop':
      return stop()
  }
}

onBenchMessage(process, (m) => {
  const { id, op } = m as GenRequest
  run(op).then(
    (value) => sendBench(process, { id, value } satisfies GenMessage),
    (err: unknown) =>
      sendBench(process, {
        id,
        error: err instanceof Error ? err.message : String(err),
        ...(err instanceof ClinicSetupError ? { clinic: err.clinic } : {}),
      } satisfies GenMessage),
  )
})
// the parent gone (a crashed or interrupted bench): no simulated device outlives it
process.on('disconnect', () => process.exit(1))
