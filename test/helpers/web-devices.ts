import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DeviceProcess, pollDevice } from './device-process.js'

const WEB_INDEX = fileURLToPath(new URL('../../apps/web/dist/index.html', import.meta.url))

interface ChartReply {
  chart: { encounters: Record<string, { clinician?: { notes?: string } } | undefined> }
}

/**
 * Real device node processes for the browser tests: one temp dir holding a clinic (the first device creates it,
 * the others join through the clinic file and mesh with it by mDNS). Each device serves apps/web/dist, `/sync`
 * and the JSON API on its own port.
 */
export class WebClinic {
  readonly root: string
  readonly devices: DeviceProcess[] = []

  private constructor(root: string) {
    this.root = root
  }

  /** Starts the named devices (first one founds the clinic) and waits until each has the clinic open. */
  static async start(names: string[], opts: { relay?: string } = {}): Promise<WebClinic> {
    if (!existsSync(WEB_INDEX)) throw new Error('apps/web/dist is missing: run `npm run build` first')
    const clinic = new WebClinic(await mkdtemp(join(tmpdir(), 'web-clinic-')))
    const [first, ...rest] = names
    if (first === undefined) return clinic
    clinic.devices.push(
      await DeviceProcess.start({ ...clinic.#init(first, opts.relay), initClinic: 'Test Clinic' }),
    )
    clinic.devices.push(
      ...(await Promise.all(rest.map((n) => DeviceProcess.start(clinic.#init(n, opts.relay))))),
    )
    await Promise.all(clinic.devices.map((d) => d.ready()))
    return clinic
  }

  #init(
    name: string,
    relay: string | undefined,
  ): { dataDir: string; name: string; clinicFile: string; relay?: string } {
    return {
      dataDir: join(this.root, name),
      name,
      clinicFile: join(this.root, 'clinic.json'),
      ...(relay ? { relay } : {}),
    }
  }

  /** Kills a device abruptly (SIGKILL: sockets cut, nothing announced); its data dir stays. */
  async kill(device: DeviceProcess): Promise<void> {
    await device.stop('SIGKILL')
  }

  /** Starts a killed device again on the same data dir and the same HTTP port (the tablet's page keeps its URL). */
  async restart(device: DeviceProcess): Promise<DeviceProcess> {
    const { initClinic: _founded, ...again } = device.init
    const next = await DeviceProcess.start({ ...again, port: device.port })
    this.devices[this.devices.indexOf(device)] = next
    await next.ready()
    return next
  }

  async stop(): Promise<void> {
    await Promise.all(this.devices.map((d) => d.stop('SIGKILL')))
    await rm(this.root, { recursive: true, force: true })
  }
}

export function urlOf(device: DeviceProcess): string {
  return `http://127.0.0.1:${device.port}`
}

/** The clinician notes of one visit as this node holds them ('' until it has the chart). */
export async function notesOf(device: DeviceProcess, pid: string, eid: string): Promise<string> {
  const r = await device.api<ChartReply>('GET', `/api/patients/${encodeURIComponent(pid)}`)
  return r.status === 200 ? (r.body.chart.encounters[eid]?.clinician?.notes ?? '') : ''
}

/** Waits until the device's mesh shows `count` peers. */
export function meshed(device: DeviceProcess, count: number, timeoutMs = 20_000): Promise<true> {
  return pollDevice(
    async () =>
      (await device.api<{ peers: unknown[] }>('GET', '/api/status')).body.peers.length >= count || undefined,
    `${device.init.name} sees ${count} peer(s)`,
    timeoutMs,
  )
}
