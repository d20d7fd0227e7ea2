import {
  RelayApiError,
  relayApi,
  type PrescriptionFound,
  type PrescriptionStatusChange,
} from './relay-api.js'

/** The roles the relay lets hold, release or cancel a prescription (apps/relay PRESCRIPTION_STATUS_ROLES). */
const EDITORS = ['clinician', 'pharmacist']

/**
 * The central prescription screen (seed 000): find a clinic's signed prescriptions by patient or prescription id,
 * put one on hold, release the hold or cancel it, with a reason (`POST /api/prescriptions/:id/status`).
 */
export class PrescriptionState {
  found = $state<PrescriptionFound[] | null>(null)
  error = $state<RelayApiError | null>(null)
  saved = $state<string | null>(null)
  busy = $state(false)
  readonly canEdit: boolean
  #last: { patient?: string; prescription?: string } = {}

  constructor(role: string | undefined) {
    this.canEdit = role !== undefined && EDITORS.includes(role)
  }

  async search(q: { patient?: string; prescription?: string }): Promise<void> {
    this.busy = true
    this.#last = q
    try {
      this.found = (await relayApi.prescriptions(q)).prescriptions
      this.error = null
    } catch (err) {
      this.error = asRelayError(err)
    } finally {
      this.busy = false
    }
  }

  /** True when the relay recorded the change. */
  async change(rx: PrescriptionFound, req: Omit<PrescriptionStatusChange, 'patient'>): Promise<boolean> {
    this.busy = true
    try {
      const r = await relayApi.setPrescriptionStatus(rx.prescription, { ...req, patient: rx.patient })
      const words =
        req.status === 'on-hold' ? 'Put on hold' : req.status === 'active' ? 'Hold released' : 'Cancelled'
      await this.search(this.#last)
      this.saved = `${words}: prescription ${r.prescription.prescription}`
      this.error = null
      return true
    } catch (err) {
      this.error = asRelayError(err)
      return false
    } finally {
      this.busy = false
    }
  }
}

function asRelayError(err: unknown): RelayApiError {
  return err instanceof RelayApiError ? err : new RelayApiError('Error', String(err), 0)
}
