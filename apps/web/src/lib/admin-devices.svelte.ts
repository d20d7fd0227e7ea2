import { adminApi, type EnrolledDevice, type JoinOffer } from './admin-api.js'

export interface DeviceRow extends EnrolledDevice {
  self: boolean
  revokedAt?: string
  reason?: string
}

/**
 * The clinic's enrolled devices (`GET /api/devices`) with their revocations, and the join code being offered.
 * Revoking and join codes need the clinic admin key on this device: the node says so (AdminKeyUnavailableError).
 */
export class AdminDevices {
  #rows = $state<DeviceRow[]>([])
  #loaded = $state(false)
  #error = $state<unknown>()
  #offer = $state<JoinOffer | undefined>()

  get rows(): DeviceRow[] {
    return this.#rows
  }
  get loaded(): boolean {
    return this.#loaded
  }
  get error(): unknown {
    return this.#error
  }
  /** The last join code made on this screen (until it expires or another is made). */
  get offer(): JoinOffer | undefined {
    return this.#offer
  }

  async refresh(): Promise<void> {
    try {
      const r = await adminApi.devices()
      const revoked = new Map(r.revocations.map((x) => [x.peerId, x]))
      this.#rows = r.enrolled
        .map((d) => {
          const x = revoked.get(d.peerId)
          return {
            ...d,
            self: d.peerId === r.self,
            ...(x ? { revokedAt: x.revokedAt, reason: x.reason } : {}),
          }
        })
        .sort(
          (a, b) =>
            Number(b.self) - Number(a.self) ||
            Number(a.revoked) - Number(b.revoked) ||
            a.name.localeCompare(b.name),
        )
      this.#loaded = true
      this.#error = undefined
    } catch (err) {
      this.#error = err
    }
  }

  async revoke(peerId: string, reason: string): Promise<void> {
    await adminApi.revoke(peerId, reason)
    await this.refresh()
  }

  async makeJoinCode(): Promise<JoinOffer> {
    const offer = await adminApi.joinCode()
    this.#offer = offer
    return offer
  }

  clearOffer(): void {
    this.#offer = undefined
  }
}
