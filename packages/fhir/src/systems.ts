/** Code systems and identifier systems the mapping uses (docs/FHIR.md lists them with the fields they code). */
export const LOINC = 'http://loinc.org'
export const UCUM = 'http://unitsofmeasure.org'
export const SNOMED = 'http://snomed.info/sct'
export const ICD10 = 'http://hl7.org/fhir/sid/icd-10'
export const OBSERVATION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category'
export const CONDITION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/condition-category'
export const CONDITION_CLINICAL = 'http://terminology.hl7.org/CodeSystem/condition-clinical'
export const CONDITION_VERIFICATION = 'http://terminology.hl7.org/CodeSystem/condition-ver-status'
export const ALLERGY_CLINICAL = 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical'
export const ALLERGY_VERIFICATION = 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification'
export const ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode'
export const PARTICIPATION_TYPE = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType'
export const PROVENANCE_PARTICIPANT = 'http://terminology.hl7.org/CodeSystem/provenance-participant-type'
export const DATA_OPERATION = 'http://terminology.hl7.org/CodeSystem/v3-DataOperation'
export const SIGNATURE_TYPE = 'urn:iso-astm:E1762-95:2013'
export const LIST_EMPTY_REASON = 'http://terminology.hl7.org/CodeSystem/list-empty-reason'
export const MED_ADMIN_CATEGORY = 'http://terminology.hl7.org/CodeSystem/medication-admin-category'

/** Our own ids, carried as identifiers so that a resource can be traced back (and an import be idempotent). */
export const ID_SYSTEM = {
  patient: 'urn:clinic-mesh:patient',
  encounter: 'urn:clinic-mesh:encounter',
  vitals: 'urn:clinic-mesh:vitals',
  diagnosis: 'urn:clinic-mesh:diagnosis',
  problem: 'urn:clinic-mesh:problem',
  allergy: 'urn:clinic-mesh:allergy',
  prescription: 'urn:clinic-mesh:prescription',
  prescriptionItem: 'urn:clinic-mesh:prescription-item',
  prescriptionHash: 'urn:clinic-mesh:prescription-hash',
  operation: 'urn:clinic-mesh:operation',
  operationHash: 'urn:clinic-mesh:operation-hash',
  item: 'urn:clinic-mesh:item',
  mar: 'urn:clinic-mesh:mar',
  user: 'urn:clinic-mesh:user',
  device: 'urn:clinic-mesh:device',
  peer: 'urn:clinic-mesh:peer',
  document: 'urn:clinic-mesh:document',
} as const

/** `meta.tag` system of a MedicationDispense: `settled` (decided by the relay) or `tentative`. */
export const SETTLEMENT_TAG = 'urn:clinic-mesh:settlement'

/** A patient identifier whose system is a bare name (`national-id`) is exported under this prefix. */
export const IDENTIFIER_PREFIX = 'urn:clinic-mesh:identifier:'

/** The R4 core vital-signs profiles. */
export const PROFILE = {
  vitalsigns: 'http://hl7.org/fhir/StructureDefinition/vitalsigns',
  heartrate: 'http://hl7.org/fhir/StructureDefinition/heartrate',
  resprate: 'http://hl7.org/fhir/StructureDefinition/resprate',
  bodytemp: 'http://hl7.org/fhir/StructureDefinition/bodytemp',
  bp: 'http://hl7.org/fhir/StructureDefinition/bp',
  oxygensat: 'http://hl7.org/fhir/StructureDefinition/oxygensat',
  bodyweight: 'http://hl7.org/fhir/StructureDefinition/bodyweight',
  bodyheight: 'http://hl7.org/fhir/StructureDefinition/bodyheight',
} as const
