/** Branded identifiers: a plain string at run time, distinct types at compile time. */
export type Brand<T, B extends string> = T & { readonly __brand: B }

export type ClinicId = Brand<string, 'ClinicId'>
export type DeviceId = Brand<string, 'DeviceId'>
export type UserId = Brand<string, 'UserId'>
export type PatientId = Brand<string, 'PatientId'>
export type EncounterId = Brand<string, 'EncounterId'>
export type PrescriptionId = Brand<string, 'PrescriptionId'>
export type ItemId = Brand<string, 'ItemId'>
export type BatchId = Brand<string, 'BatchId'>
export type LocationId = Brand<string, 'LocationId'>
export type OperationId = Brand<string, 'OperationId'>
export type ConflictId = Brand<string, 'ConflictId'>

/** A random 128-bit id, hex-encoded, with an optional readable prefix. */
export function newId<T extends string>(prefix = ''): T {
  const bytes = new Uint8Array(16)
  globalThis.crypto.getRandomValues(bytes)
  let hex = ''
  for (const b of bytes) hex += b.toString(16).padStart(2, '0')
  return (prefix ? `${prefix}_${hex}` : hex) as T
}
