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
  status: 'Status',
  text: 'Text',
  certainty: 'Certainty',
  drug: 'Medicine',
  dose: 'Dose',
  route: 'Route',
  frequency: 'How often',
  duration: 'For how long',
  instructions: 'Instructions',
  severity: 'Severity',
  substance: 'Allergy',
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
