import { QUEUE_LABELS } from './queue.js'
import type { QueueStatus } from '@clinic-mesh/records'

/** Plain-language names of the fields a review marker can point at (last path segments). */
const LABELS: Record<string, string> = {
  'registration/queue': 'Where the patient is',
  'registration/reason': 'Reason for visit',
  'registration/status': 'Registration status',
  'triage/status': 'Triage status',
  'clinician/status': 'Clinician status',
  'pharmacy/status': 'Pharmacy status',
  'name/given': 'Given name',
  'name/family': 'Family name',
  'patient/birthDate': 'Date of birth',
  'patient/sex': 'Sex',
  given: 'Given name',
  family: 'Family name',
  birthDate: 'Date of birth',
  sex: 'Sex',
  status: 'Status',
  text: 'Text',
  certainty: 'Certainty',
  drug: 'Medicine',
  dose: 'Dose',
  route: 'Route',
  frequency: 'How often',
  duration: 'For how long',
  instructions: 'Instructions',
  itemId: 'Medicine from the formulary',
  quantity: 'Quantity to dispense',
  severity: 'Severity',
  substance: 'Allergy',
  notes: 'Notes',
  // vital signs, as the triage form names them
  temperatureC: 'Temperature (°C)',
  pulseBpm: 'Pulse (beats/min)',
  respRate: 'Breaths/min',
  systolic: 'BP systolic (mmHg)',
  diastolic: 'BP diastolic (mmHg)',
  spo2: 'SpO₂ (%)',
  weightKg: 'Weight (kg)',
  takenAt: 'Time taken',
}

const PARENTS: Record<string, string> = {
  diagnoses: 'Diagnosis',
  items: 'Prescribed medicine',
  allergies: 'Allergy',
  problems: 'Problem',
  orders: 'Order',
}

export function fieldLabel(path: string[]): string {
  const last = path[path.length - 1] ?? ''
  const pair = `${path[path.length - 2] ?? ''}/${last}`
  const parent = PARENTS[path[path.length - 3] ?? '']
  const label = LABELS[pair] ?? LABELS[last] ?? last
  return parent ? `${parent}: ${label.toLowerCase()}` : label
}

/**
 * A record's refusal in the clinic's words: every dotted field path the records package names
 * (`vitals.temperatureC must be 30 or more; vitals.pulseBpm ...`) becomes the label the screen shows
 * ("Temperature (°C) must be 30 or more; Pulse (beats/min) ..."). Paths with no label are left as they are.
 */
export function plainFieldMessage(message: string): string {
  return message.replace(/\b[a-z][A-Za-z0-9]*(?:\.[A-Za-z][A-Za-z0-9]*)+\b/g, (dotted) => {
    const path = dotted.split('.')
    const last = path[path.length - 1] ?? ''
    return last in LABELS ? fieldLabel(path) : dotted
  })
}

/** One broken rule of a form, in the clinic's words, with the field it belongs to (`birthDate`). */
export interface FieldError {
  field: string
  text: string
}

/**
 * Every broken rule an error names, one line each ("Date of birth is required", "Sex is required"): from the
 * error's `issues` where the records package checked field by field, else its message in plain words.
 */
export function fieldErrors(err: unknown): FieldError[] {
  const issues = (err as { issues?: unknown } | undefined)?.issues
  if (Array.isArray(issues) && issues.length > 0) {
    return (issues as { path: string; message: string }[]).map((i) => {
      const path = i.path.split('.')
      return { field: path[path.length - 1] ?? '', text: `${fieldLabel(path)} ${i.message}` }
    })
  }
  return [{ field: '', text: plainFieldMessage(err instanceof Error ? err.message : String(err)) }]
}

const ID_SYSTEMS: Record<string, string> = {
  'national-id': 'National ID',
  'health-card': 'Health card',
  phone: 'Phone',
}

/** A `system|value` identifier as a nurse reads it: "National ID MW100001". */
export function identifierText(identifier: string): string {
  const bar = identifier.indexOf('|')
  if (bar < 0) return identifier
  const system = identifier.slice(0, bar)
  return `${ID_SYSTEMS[system] ?? system} ${identifier.slice(bar + 1)}`
}

/** A competing value of a review marker in the words the screen uses for it (queue places by their label). */
export function valueLabel(path: string[], value: string | number | boolean): string {
  if (path[path.length - 1] === 'queue' && typeof value === 'string' && value in QUEUE_LABELS)
    return QUEUE_LABELS[value as QueueStatus]
  return String(value)
}
