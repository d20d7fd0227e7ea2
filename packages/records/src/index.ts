export type {
  Actor,
  ActorRef,
  ArchivedStub,
  Allergy,
  Chart,
  ChartCollection,
  Diagnosis,
  DispenseNote,
  Encounter,
  EncounterStatus,
  Identifier,
  Imm,
  MarEvent,
  MarStatus,
  Order,
  Patient,
  PatientLink,
  PatientSummary,
  Prescription,
  Problem,
  ProblemStatus,
  QueueStatus,
  RxItem,
  RxSignature,
  SectionStamp,
  SectionStatus,
  Severity,
  Sex,
  VitalsEntry,
  VitalsValues,
} from './types.js'
export {
  SEXES,
  SEVERITIES,
  PROBLEM_STATUSES,
  ENCOUNTER_STATUSES,
  QUEUE_STATUSES,
  MAR_STATUSES,
  SECTION_STATUSES,
} from './types.js'
export {
  AppendOnlyError,
  DuplicateRecordError,
  InvalidRecordError,
  PrescriptionChangedError,
  SignedPrescriptionError,
  UnknownRecordError,
  UnsupportedSchemaError,
} from './errors.js'
export { imm, str, plain, actorOf, userOf, packActor } from './values.js'
export { VITAL_RANGES } from './validate.js'
export { SCHEMA_VERSION, emptyCollection, migrateCollection, needsMigration, chartOf } from './collection.js'
export {
  registerPatient,
  newChart,
  updateDemographics,
  addIdentifier,
  identifierKey,
  recordAllergy,
  setAllergySeverity,
  addProblem,
  setProblemStatus,
} from './patient.js'
export type {
  RegisterPatientInput,
  IdentifierInput,
  DemographicsPatch,
  AllergyInput,
  ProblemInput,
} from './patient.js'
export {
  openEncounter,
  newEncounter,
  newVitals,
  encounterOf,
  setQueueStatus,
  setEncounterStatus,
  setSectionStatus,
  recordVitals,
  markVitalsInError,
  editNotes,
  spliceNotes,
  addDiagnosis,
  addOrder,
  setOrderStatus,
} from './encounter.js'
export type { OpenEncounterInput, DiagnosisInput } from './encounter.js'
export {
  createPrescription,
  addRxItem,
  updateRxItem,
  removeRxItem,
  signPrescription,
  attachPrescriptionSignature,
  prescriptionOf,
  draftOf,
  isSigned,
  canonicalPrescription,
  prescriptionHash,
  prescriptionSigningBytes,
  prescriptionDeviceSigningBytes,
  PRESCRIPTION_SIGNATURE_CONTEXT,
  PRESCRIPTION_DEVICE_CONTEXT,
} from './prescription.js'
export {
  parseRxLine,
  toRxItem,
  rxLineOf,
  isCodedLine,
  rxLineProblem,
  describeRxLine,
  RX_TEXT_FIELDS,
} from './rx-line.js'
export type { RxItemInput, RxTextField } from './rx-line.js'
export type {
  CreatePrescriptionInput,
  ExternalRxSignature,
  PrescriptionSigningFields,
  SignPrescriptionOptions,
} from './prescription.js'
export { verifyPrescription, VERIFY_REASONS } from './verify.js'
export type { VerifyResult, VerifyReason, VerifyOptions } from './verify.js'
export { recordDispenseNote, lineBalances } from './pharmacy.js'
export type { DispensedLineInput, LineBalance } from './pharmacy.js'
export { recordAdministration, correctAdministration, effectiveMar } from './mar.js'
export type { MarInput, EffectiveMarEntry } from './mar.js'
export { marEntryProblem } from './mar-check.js'
export type { MarEntryCheckOptions } from './mar-check.js'
export { importChart } from './import.js'
export type { ImportChartInput, ImportEncounterInput } from './import.js'
export { summarize } from './summary.js'
export { duplicateKeys, findPossibleDuplicates, normalizeName } from './duplicates.js'
export type { DuplicateCandidate } from './duplicates.js'
export { linkPatients, unlinkPatients, linkGroups, areLinked, type LinkOptions } from './links.js'
export { needsReview, resolveReview } from './review.js'
export type { ReviewMarker } from './review.js'
export { flagVitals, ageInMonths } from './vital-flags.js'
export type { VitalFlag } from './vital-flags.js'
export { openVisitsOf, encodeOpenVisits, decodeOpenVisits, queueOf } from './open-visits.js'
export type { OpenVisit, QueueEntry } from './open-visits.js'
export {
  archivableVisits,
  chartArchivePolicy,
  copyValue,
  leaveStubs,
  needsStub,
  stubOf,
  visitYear,
} from './archive.js'
export type { ArchivedVisit, ArchiveRule } from './archive.js'
