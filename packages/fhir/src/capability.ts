import type { CapabilityStatement } from '@medplum/fhirtypes'

/**
 * What a device node's `/fhir` answers (`GET /fhir/metadata`): Patient `$everything` and `$summary`, and a
 * batch/transaction import of Patients with their AllergyIntolerances and Conditions.
 */
export function deviceCapabilities(
  software: { name: string; version: string },
  date = new Date().toISOString(),
): CapabilityStatement {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date,
    kind: 'instance',
    software,
    implementation: { description: 'clinic-mesh device node: offline-first clinic records' },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    rest: [
      {
        mode: 'server',
        documentation:
          'Authorization: Bearer <token> from POST /api/login (or the session cookie); see docs/FHIR.md',
        resource: [
          {
            type: 'Patient',
            operation: [
              {
                name: 'everything',
                definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything',
              },
              { name: 'summary', definition: 'http://hl7.org/fhir/uv/ips/OperationDefinition/summary' },
            ],
          },
          { type: 'AllergyIntolerance' },
          { type: 'Condition' },
        ],
        interaction: [
          {
            code: 'batch',
            documentation:
              'import of Patients, AllergyIntolerances and Conditions (idempotent by identifier)',
          },
          { code: 'transaction', documentation: 'processed as a batch: each entry answered on its own' },
        ],
      },
    ],
  }
}
