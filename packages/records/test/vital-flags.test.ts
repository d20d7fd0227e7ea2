import { describe, expect, it } from 'vitest'
import { ageInMonths, flagVitals } from '@clinic-mesh/records'

const ON = new Date('2026-12-05T10:00:00Z')
const keys = (f: ReturnType<typeof flagVitals>): string[] => f.map((x) => `${x.key}:${x.direction}`)

describe('abnormal vital signs are flagged by age', () => {
  it('flags an adult fever, fast pulse, fast breathing, high blood pressure and low SpO₂; normal values are quiet', () => {
    const adult = '1984-03-12'
    expect(
      flagVitals(
        { temperatureC: 37.2, pulseBpm: 78, respRate: 16, systolic: 118, diastolic: 76, spo2: 98 },
        adult,
        ON,
      ),
    ).toEqual([])
    expect(
      keys(
        flagVitals(
          { temperatureC: 38.4, pulseBpm: 112, respRate: 24, systolic: 152, diastolic: 96, spo2: 91 },
          adult,
          ON,
        ),
      ),
    ).toEqual([
      'temperatureC:high',
      'spo2:low',
      'pulseBpm:high',
      'respRate:high',
      'systolic:high',
      'diastolic:high',
    ])
    expect(keys(flagVitals({ temperatureC: 35.1, systolic: 84, pulseBpm: 44 }, adult, ON))).toEqual([
      'temperatureC:low',
      'pulseBpm:low',
      'systolic:low',
    ])
  })

  it('judges a child’s breathing by the IMCI fast-breathing thresholds and leaves a child’s pulse alone', () => {
    expect(keys(flagVitals({ respRate: 45, pulseBpm: 130 }, '2023-06-01', ON))).toEqual(['respRate:high']) // 3 years: ≥ 40
    expect(keys(flagVitals({ respRate: 45 }, '2026-06-01', ON))).toEqual([]) // 6 months: fast is ≥ 50
    expect(keys(flagVitals({ respRate: 55 }, '2026-06-01', ON))).toEqual(['respRate:high'])
    expect(keys(flagVitals({ respRate: 58 }, '2026-11-01', ON))).toEqual([]) // 1 month: fast is ≥ 60
  })

  it('flags only what holds at every age when the birth date is unknown', () => {
    expect(keys(flagVitals({ temperatureC: 39, pulseBpm: 140, systolic: 170 }, undefined, ON))).toEqual([
      'temperatureC:high',
    ])
    expect(ageInMonths('not a date', ON)).toBeUndefined()
    expect(ageInMonths('2025-12-06', ON)).toBe(11)
    expect(ageInMonths('2025-12-05', ON)).toBe(12)
  })
})
