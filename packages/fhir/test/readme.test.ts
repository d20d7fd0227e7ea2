import * as A from '@automerge/automerge'
import type { DeviceId, UserId } from '@clinic-mesh/contracts'
import { expect, it } from 'vitest'
import { emptyCollection, openEncounter, plain, recordVitals, registerPatient } from '@clinic-mesh/records'
import { chartResources, everythingBundle, type PlainChart } from '@clinic-mesh/fhir'
import type { Observation } from '@medplum/fhirtypes'
import { fhirErrors } from '@clinic-mesh/fhir/validator'

it('the README example works', () => {
  const nurse = { user: 'usr_nurse' as UserId, device: 'dev_tab1' as DeviceId }
  let pid = ''
  const doc = A.change(A.from(emptyCollection()), (d) => {
    pid = registerPatient(
      d,
      { given: 'Grace', family: 'Banda', birthDate: '1984-03-12', sex: 'female' },
      nurse,
    )
    const eid = openEncounter(d.charts[pid]!, { reason: 'fever' }, nurse)
    recordVitals(d.charts[pid]!, eid, { temperatureC: 38.4, pulseBpm: 104 }, nurse)
  })
  const resources = chartResources(plain(doc.charts[pid]) as PlainChart)
  const bundle = everythingBundle(resources, { base: 'http://127.0.0.1:8080/fhir' })
  expect(bundle.entry?.map((e) => e.resource?.resourceType)).toEqual([
    'Patient',
    'Encounter',
    'Observation',
    'Observation',
    'Practitioner',
    'Device',
  ])
  const obs = resources.filter((r): r is Observation => r.resourceType === 'Observation')
  expect(obs.map((o) => [o.code.coding?.[0]?.code, o.valueQuantity?.code])).toEqual([
    ['8867-4', '/min'],
    ['8310-5', 'Cel'],
  ])
  expect(fhirErrors(bundle)).toEqual([])
})
