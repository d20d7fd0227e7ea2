import type { ImmutableString } from '@automerge/automerge'
import type { DeviceId, EncounterId, PatientId, PrescriptionId, UserId } from '@clinic-mesh/contracts'
import { SEXES } from '@clinic-mesh/contracts'

/**
 * A whole-value string stored as an Automerge scalar (`ImmutableString`): concurrent writes conflict and one wins,
 * characters never interleave, and it costs one op instead of one per character. Read it with `str()`.
 * Plain `string` fields in these types are collaborative Automerge text (only clinician notes).
 */
export type Imm<T extends string = string> = ImmutableString & { readonly val: T }

/** Who does a write. `at` (ISO time) defaults to the device clock. */
export interface Actor {
  user: UserId
  device: DeviceId
  at?: string
}

/** An actor as recorded before collection schema 3: a map of two scalars (three values). Still read. */
export interface ActorFields {
  user: Imm<UserId>
  device: Imm<DeviceId>
}

/**
 * An actor as recorded from collection schema 3: one scalar `user device` (one value instead of three: a chart, an
 * encounter, every entry carries one, and Automerge's cost is per value). Read either form with `actorOf`.
 */
export type PackedActor = Imm<`${UserId} ${DeviceId}`>

/** An actor as recorded in a document: packed (written now) or a map (written before schema 3). */
export type ActorRef = PackedActor | ActorFields

export { SEXES }
export type Sex = (typeof SEXES)[number]
export const SEVERITIES = ['mild', 'moderate', 'severe'] as const
export type Severity = (typeof SEVERITIES)[number]
export const PROBLEM_STATUSES = ['active', 'resolved', 'inactive', 'entered-in-error'] as const
export type ProblemStatus = (typeof PROBLEM_STATUSES)[number]

export interface Identifier {
  system: Imm
  value: Imm
}

export interface Allergy {
  substance: Imm
  severity: Imm<Severity>
  reaction?: Imm
  recordedBy: ActorRef
  recordedAt: Imm
  updatedBy?: ActorRef
  updatedAt?: Imm
}

export interface Problem {
  code?: Imm
  text: Imm
  status: Imm<ProblemStatus>
  onset?: Imm
  recordedBy: ActorRef
  recordedAt: Imm
  updatedBy?: ActorRef
  updatedAt?: Imm
}

export interface Patient {
  id: Imm<PatientId>
  name: { given: Imm; family: Imm }
  birthDate: Imm
  sex: Imm<Sex>
  /** keyed by `${system}|${value}` */
  identifiers: { [key: string]: Identifier }
  allergies: { [id: string]: Allergy }
  problems: { [id: string]: Problem }
  createdAt: Imm
  createdBy: ActorRef
  /** Last change to the searchable fields (name, birth date, sex, identifiers): the summary's `updatedAt`. */
  updatedAt: Imm
}

export const ENCOUNTER_STATUSES = ['open', 'closed', 'cancelled'] as const
export type EncounterStatus = (typeof ENCOUNTER_STATUSES)[number]
export const QUEUE_STATUSES = ['waiting', 'triage', 'consultation', 'pharmacy', 'done', 'left'] as const
export type QueueStatus = (typeof QUEUE_STATUSES)[number]

/** One set of vital signs taken together. Values in SI-ish clinical units (see VITAL_RANGES). */
export interface VitalsValues {
  temperatureC?: number
  pulseBpm?: number
  respRate?: number
  systolic?: number
  diastolic?: number
  spo2?: number
  weightKg?: number
  heightCm?: number
  glucoseMmolL?: number
}

export interface VitalsEntry {
  values: VitalsValues
  takenAt: Imm
  by: ActorRef
  enteredInError?: boolean
}

export interface Diagnosis {
  code?: Imm
  text: Imm
  certainty: Imm<'provisional' | 'confirmed'>
  by: ActorRef
  at: Imm
}

export interface Order {
  kind: Imm<'lab' | 'imaging' | 'procedure' | 'referral' | 'other'>
  text: Imm
  status: Imm<'requested' | 'done' | 'cancelled'>
  by: ActorRef
  at: Imm
}

export const SECTION_STATUSES = ['in-progress', 'done'] as const
export type SectionStatus = (typeof SECTION_STATUSES)[number]

/** Written by the section's role: its status, and who/when last set it (entries carry their own `by`). */
export interface SectionStamp {
  status?: Imm<SectionStatus>
  by?: ActorRef
  at?: Imm
}

export interface Encounter {
  id: Imm<EncounterId>
  status: Imm<EncounterStatus>
  openedBy: ActorRef
  openedAt: Imm
  registration: SectionStamp & { reason: Imm; arrivedAt: Imm; queue: Imm<QueueStatus> }
  triage: SectionStamp & { vitals: { [id: string]: VitalsEntry } }
  /** `notes` is collaborative text: edit it with `editNotes`/`spliceNotes`, never by assignment. */
  clinician: SectionStamp & { notes: string; diagnoses: { [id: string]: Diagnosis } }
  orders: { [id: string]: Order }
  pharmacy: SectionStamp & { note?: Imm; dispensed: { [id: string]: DispenseNote } }
  closedBy?: ActorRef
  closedAt?: Imm
}

/** The pharmacy's mark on an encounter: which signed prescription version (by hash) was handed out. */
export interface DispenseNote {
  prescriptionId: Imm<PrescriptionId>
  prescriptionHash: Imm
  by: ActorRef
  at: Imm
  /** the prescription line handed out, its item and name, the lot, the units and the ledger operation (issue 15) */
  line?: Imm
  itemId?: Imm
  drug?: Imm
  batch?: Imm
  quantity?: number
  op?: Imm
}

/**
 * One prescription line: a coded formulary item (`itemId`, `drug` its name as prescribed), how to take it and how many
 * units to hand out. Lines written before issue 15 have neither `itemId` nor `quantity` (free-text drug): they stay
 * readable and their signatures verify, but a node refuses a new or edited line without them.
 */
export interface RxItem {
  itemId?: Imm
  drug: Imm
  dose: Imm
  route: Imm
  frequency: Imm
  duration: Imm
  /** units to dispense */
  quantity?: number
  instructions?: Imm
}

export interface RxSignature {
  /** sha-256 (hex) of the canonical content, see `canonicalPrescription`. */
  hash: Imm
  /** Ed25519 signature (hex) of `prescriptionSigningBytes` (context, patient, prescription id, hash, signedBy.user). */
  signature: Imm
  publicKey: Imm
  signedBy: ActorRef
  signedAt: Imm
  /** The device that signed too (its libp2p peer id and Ed25519 signature of `prescriptionDeviceSigningBytes`), when signed on a device node. */
  device?: { peerId: Imm; signature: Imm }
}

export interface Prescription {
  id: Imm<PrescriptionId>
  patientId: Imm<PatientId>
  encounterId?: Imm<EncounterId>
  status: Imm<'draft' | 'signed'>
  items: { [itemId: string]: RxItem }
  createdBy: ActorRef
  createdAt: Imm
  updatedBy?: ActorRef
  updatedAt?: Imm
  signed?: RxSignature
}

export const MAR_STATUSES = ['given', 'held', 'refused', 'missed', 'entered-in-error'] as const
export type MarStatus = (typeof MAR_STATUSES)[number]

/** Medication administration record entry: append-only; a correction is a new entry with `corrects`. */
export interface MarEvent {
  id: Imm
  drug: Imm
  dose: Imm
  route: Imm
  status: Imm<MarStatus>
  administeredAt: Imm
  prescriptionId?: Imm<PrescriptionId>
  itemId?: Imm
  note?: Imm
  corrects?: Imm
  by: ActorRef
  recordedAt: Imm
}

export interface Chart {
  patient: Patient
  encounters: { [id: string]: Encounter }
  prescriptions: { [id: string]: Prescription }
  mar: { [id: string]: MarEvent }
  /**
   * Closed visits moved to the clinic's archive documents (issue 17 #3, history window), each a stub the visit list
   * shows: the whole visit is in the archive document of its `year` (store's ArchiveShelf). Written by device nodes.
   */
  archived?: { [encounterId: string]: ArchivedStub }
}

/** What a chart keeps of an archived visit: enough for the visit list and to find the visit in its archive. */
export interface ArchivedStub {
  year: number
  openedAt: Imm
  closedAt?: Imm
  reason?: Imm
}

export interface PatientLink {
  a: Imm<PatientId>
  b: Imm<PatientId>
  kind: Imm<'same-person'>
  by: ActorRef
  at: Imm
  active: boolean
  unlinkedBy?: ActorRef
  unlinkedAt?: Imm
}

/** A type alias (not an interface) so that it satisfies Automerge's `Record<string, unknown>` bound: `A.from(emptyCollection())`. */
export type ChartCollection = {
  schema: number
  charts: { [patientId: string]: Chart }
  links: { [linkId: string]: PatientLink }
}

/** The searchable part of a chart; the store keeps these in its index documents (defined in @clinic-mesh/contracts). */
export type { PatientSummary } from '@clinic-mesh/contracts'
