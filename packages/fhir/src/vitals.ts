import type { Observation, Quantity } from '@medplum/fhirtypes'
import type { VitalsEntry, VitalsValues } from '@clinic-mesh/records'
import { childId, ourIdentifier, patientRef, ref, userRef } from './ids.js'
import type { Plain } from './plain.js'
import { LOINC, OBSERVATION_CATEGORY, PROFILE, UCUM } from './systems.js'
import { userOf } from '@clinic-mesh/records'

/** One vital sign: its LOINC code, UCUM unit and R4 profile (the table; docs/FHIR.md). */
export interface VitalSignCode {
  readonly field: keyof VitalsValues
  readonly loinc: string
  readonly display: string
  readonly ucum: string
  readonly unit: string
  readonly profile: string
  readonly suffix: string
}

export const VITAL_SIGNS: readonly VitalSignCode[] = [
  {
    field: 'pulseBpm',
    loinc: '8867-4',
    display: 'Heart rate',
    ucum: '/min',
    unit: 'beats/minute',
    profile: PROFILE.heartrate,
    suffix: 'hr',
  },
  {
    field: 'respRate',
    loinc: '9279-1',
    display: 'Respiratory rate',
    ucum: '/min',
    unit: 'breaths/minute',
    profile: PROFILE.resprate,
    suffix: 'rr',
  },
  {
    field: 'temperatureC',
    loinc: '8310-5',
    display: 'Body temperature',
    ucum: 'Cel',
    unit: 'C',
    profile: PROFILE.bodytemp,
    suffix: 'temp',
  },
  {
    field: 'spo2',
    loinc: '2708-6',
    display: 'Oxygen saturation in Arterial blood',
    ucum: '%',
    unit: '%',
    profile: PROFILE.oxygensat,
    suffix: 'spo2',
  },
  {
    field: 'weightKg',
    loinc: '29463-7',
    display: 'Body weight',
    ucum: 'kg',
    unit: 'kg',
    profile: PROFILE.bodyweight,
    suffix: 'wt',
  },
  {
    field: 'heightCm',
    loinc: '8302-2',
    display: 'Body height',
    ucum: 'cm',
    unit: 'cm',
    profile: PROFILE.bodyheight,
    suffix: 'ht',
  },
]

export const BLOOD_PRESSURE = {
  panel: { loinc: '85354-9', display: 'Blood pressure panel with all children optional' },
  systolic: { loinc: '8480-6', display: 'Systolic blood pressure' },
  diastolic: { loinc: '8462-4', display: 'Diastolic blood pressure' },
  ucum: 'mm[Hg]',
} as const

/** Blood glucose is not a vital sign in R4: a laboratory Observation, LOINC 15074-8, mmol/L. */
export const GLUCOSE = {
  loinc: '15074-8',
  display: 'Glucose [Moles/volume] in Blood',
  ucum: 'mmol/L',
} as const

function quantity(value: number, unit: string, code: string): Quantity {
  return { value, unit, system: UCUM, code }
}

const VITAL_CATEGORY = [
  {
    coding: [{ system: OBSERVATION_CATEGORY, code: 'vital-signs', display: 'Vital Signs' }],
    text: 'Vital Signs',
  },
]

/**
 * One Observation per vital sign of a set of vitals, each with its R4 vital-signs profile, LOINC code and UCUM unit;
 * systolic and diastolic together as the blood pressure panel (85354-9) with two components; glucose as a laboratory
 * Observation. A set marked entered in error gives `status: entered-in-error`.
 */
export function toVitalsObservations(
  patientId: string,
  encounterId: string,
  vitalsId: string,
  entry: Plain<VitalsEntry>,
): Observation[] {
  const base: Omit<Observation, 'code'> = {
    resourceType: 'Observation',
    status: entry.enteredInError ? 'entered-in-error' : 'final',
    subject: patientRef(patientId),
    encounter: ref('Encounter', encounterId),
    effectiveDateTime: entry.takenAt,
    performer: [userRef(userOf(entry.by))],
    identifier: [ourIdentifier('vitals', vitalsId)],
  }
  const v = entry.values
  const out: Observation[] = []
  for (const sign of VITAL_SIGNS) {
    const value = v[sign.field]
    if (typeof value !== 'number') continue
    out.push({
      ...base,
      id: childId(vitalsId, sign.suffix),
      meta: { profile: [sign.profile] },
      category: VITAL_CATEGORY,
      code: { coding: [{ system: LOINC, code: sign.loinc, display: sign.display }], text: sign.display },
      valueQuantity: quantity(value, sign.unit, sign.ucum),
    })
  }
  if (typeof v.systolic === 'number' || typeof v.diastolic === 'number') {
    const component = (
      part: 'systolic' | 'diastolic',
      value: number | undefined,
    ): NonNullable<Observation['component']>[number] => {
      const code = {
        coding: [{ system: LOINC, code: BLOOD_PRESSURE[part].loinc, display: BLOOD_PRESSURE[part].display }],
      }
      return typeof value === 'number'
        ? { code, valueQuantity: quantity(value, 'mmHg', BLOOD_PRESSURE.ucum) }
        : {
            code,
            dataAbsentReason: {
              coding: [
                { system: 'http://terminology.hl7.org/CodeSystem/data-absent-reason', code: 'not-performed' },
              ],
            },
          }
    }
    out.push({
      ...base,
      id: childId(vitalsId, 'bp'),
      meta: { profile: [PROFILE.bp] },
      category: VITAL_CATEGORY,
      code: {
        coding: [{ system: LOINC, code: BLOOD_PRESSURE.panel.loinc, display: BLOOD_PRESSURE.panel.display }],
        text: 'Blood pressure',
      },
      component: [component('systolic', v.systolic), component('diastolic', v.diastolic)],
    })
  }
  if (typeof v.glucoseMmolL === 'number') {
    out.push({
      ...base,
      id: childId(vitalsId, 'glu'),
      category: [{ coding: [{ system: OBSERVATION_CATEGORY, code: 'laboratory', display: 'Laboratory' }] }],
      code: {
        coding: [{ system: LOINC, code: GLUCOSE.loinc, display: GLUCOSE.display }],
        text: 'Blood glucose',
      },
      valueQuantity: quantity(v.glucoseMmolL, 'mmol/L', GLUCOSE.ucum),
    })
  }
  return out
}
