import { describe, expect, it } from 'vitest'
import { urlOf } from './helpers/web-devices.js'
import { openTablet, screenshot, signIn, webSuite } from './helpers/web-browser.js'

interface PatientBundle {
  entry?: { resource: { resourceType: string; id?: string; link?: { other: { reference: string } }[] } }[]
}

/**
 * The same woman registered twice (two desks while their tablets were apart): the Patients screen lists the pair;
 * a clerk links them as the same person (both charts stay), the device node accepts the link (its FHIR Patient
 * carries it), and unlinking undoes it.
 */
describe('web: possible duplicates', () => {
  const suite = webSuite()

  it('are listed, linked as the same person on screen, and unlinked again', async () => {
    const clinic = await suite.start(['front-desk'])
    const node = clinic.devices[0]!
    const grace = {
      given: 'Grace',
      family: 'Banda',
      birthDate: '1984-03-12',
      sex: 'female',
      identifiers: [{ system: 'national-id', value: 'MW100001' }],
    }
    const one = (await node.api<{ id: string }>('POST', '/api/patients', grace)).body.id
    const two = (await node.api<{ id: string }>('POST', '/api/patients', grace)).body.id
    const otherPatient = { ...grace, given: 'Mercy', birthDate: '1990-01-01', identifiers: [] }
    await node.api('POST', '/api/patients', otherPatient)
    const linksOf = async (pid: string): Promise<string[]> => {
      const r = await node.api<PatientBundle>('GET', `/fhir/Patient/${pid.replace('_', '-')}/$everything`)
      const patient = r.body.entry?.find((e) => e.resource.resourceType === 'Patient')?.resource
      return (patient?.link ?? []).map((l) => l.other.reference)
    }

    const page = await openTablet(suite.browser, urlOf(node))
    await signIn(page, 'Joseph Kamanga', 'registration')
    await page.getByRole('navigation').getByRole('link', { name: 'Patients' }).click()
    const panel = page.getByTestId('duplicates')
    await panel.getByRole('heading', { name: 'Possible duplicates (1 to check)' }).waitFor()
    const pairs = panel.getByTestId('duplicate-pair')
    expect(await pairs.count()).toBe(1) // Mercy Banda is someone else
    expect(await pairs.first().innerText()).toContain(
      'Grace Banda, female, born 1984-03-12, National ID MW100001',
    )
    await screenshot(page, 'duplicates')

    await pairs.first().getByRole('button', { name: 'Same person: link' }).click()
    await pairs.first().getByText('Linked as the same person.').waitFor()
    await panel.getByRole('heading', { name: 'Possible duplicates (0 to check)' }).waitFor()
    // the node took the link (the clerk's role may link patients), in both charts' records
    await expect.poll(() => linksOf(one), { timeout: 20_000 }).toEqual([`Patient/${two.replace('_', '-')}`])
    await expect.poll(() => linksOf(two), { timeout: 20_000 }).toEqual([`Patient/${one.replace('_', '-')}`])

    await pairs.first().getByRole('button', { name: 'Unlink' }).click()
    await panel.getByRole('heading', { name: 'Possible duplicates (1 to check)' }).waitFor()
    await expect.poll(() => linksOf(one), { timeout: 20_000 }).toEqual([])
    await expect.poll(() => linksOf(two), { timeout: 20_000 }).toEqual([])
  })
})
