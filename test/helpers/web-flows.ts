import type { Page } from 'playwright-core'

/** A patient as typed on the registration form. */
export interface NewPatient {
  given: string
  family: string
  birthDate: string
  sex: 'female' | 'male' | 'other' | 'unknown'
  /** National ID number (optional field). */
  idNumber?: string
  /** Reason for visit: when given, registering opens a visit and the page moves to its encounter. */
  reason?: string
}

/** Opens Patients → Register new patient and fills the form, without submitting (a test may look at it first). */
export async function fillRegistration(page: Page, p: NewPatient): Promise<void> {
  await page.getByRole('navigation').getByRole('link', { name: 'Patients' }).click()
  await page.getByRole('button', { name: 'Register new patient' }).click()
  await page.getByLabel('Given name').fill(p.given)
  await page.getByLabel('Family name').fill(p.family)
  await page.getByLabel('Date of birth').fill(p.birthDate)
  await page.getByLabel('Sex').selectOption(p.sex)
  if (p.idNumber !== undefined) await page.getByLabel('ID number', { exact: true }).fill(p.idNumber)
  if (p.reason !== undefined) await page.getByLabel('Reason for visit (opens a visit now)').fill(p.reason)
}

/** Presses Register; with a reason for visit, waits for the visit's screen and returns its ids from the URL. */
export async function submitRegistration(page: Page, p: NewPatient): Promise<{ pid: string; eid: string }> {
  await page.getByRole('button', { name: 'Register', exact: true }).click()
  if (p.reason === undefined) {
    await page.getByTestId('search-results').getByText(`${p.given} ${p.family}`).waitFor()
    return { pid: '', eid: '' }
  }
  // 60 s: registration's latency tail on a loaded box is measured in bench P14 (seconds); this only bounds a wait
  await page.getByRole('heading', { name: `${p.given} ${p.family}` }).waitFor({ timeout: 60_000 })
  const [, pid = '', eid = ''] = /#\/encounter\/([^/]+)\/([^/]+)$/.exec(page.url()) ?? []
  return { pid: decodeURIComponent(pid), eid: decodeURIComponent(eid) }
}

/** Registers a patient on the tablet the way a clerk does (see fillRegistration and submitRegistration). */
export async function registerPatient(page: Page, p: NewPatient): Promise<{ pid: string; eid: string }> {
  await fillRegistration(page, p)
  return submitRegistration(page, p)
}
