import {
  asRelayError,
  relayApi,
  type FormularyItem,
  type FormularyUpdate,
  type RelayApiError,
} from './relay-api.js'

/** The roles the relay lets change the formulary (apps/relay FORMULARY_ROLES); the others read it. */
const EDITORS = ['admin', 'supervisor']

/** The central office's formulary screen: the clinic's settled list, and changes through `POST /api/formulary`. */
export class FormularyState {
  items = $state<FormularyItem[]>([])
  error = $state<RelayApiError | null>(null)
  /** What the last accepted change was, in words (for the status line). */
  saved = $state<string | null>(null)
  busy = $state(false)
  readonly canEdit: boolean

  constructor(role: string | undefined) {
    this.canEdit = role !== undefined && EDITORS.includes(role)
  }

  async load(): Promise<void> {
    try {
      this.items = (await relayApi.formulary()).items
      this.error = null
    } catch (err) {
      this.error = asRelayError(err)
    }
  }

  /** Add, reprice or withdraw: the same entry, sent whole. True when the relay settled it. */
  async save(entry: FormularyUpdate, what: string): Promise<boolean> {
    this.busy = true
    try {
      const r = await relayApi.updateFormulary(entry)
      this.saved = `${what}: ${r.item.name}`
      this.error = null
      await this.load()
      return true
    } catch (err) {
      this.error = asRelayError(err)
      return false
    } finally {
      this.busy = false
    }
  }
}
