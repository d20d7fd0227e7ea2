import type { ItemId } from '@clinic-mesh/contracts'
import type { OperationBody } from './operation.js'

/**
 * The formulary a new clinic starts with: a primary-care selection from the WHO Model List of Essential Medicines,
 * 23rd list (2023), https://www.who.int/publications/i/item/WHO-MHP-HPS-EML-2023.02 — generic names, strengths and
 * dosage forms as the list gives them. Prices are indicative unit prices in minor currency units (cents), of the order
 * of the MSH International Medical Products Price Guide; the central office reprices them for its own supply.
 * `controlled`: under international control (the list's "controlled substance" note): counts and a register.
 */
export interface EssentialMedicine {
  readonly item: ItemId
  /** International non-proprietary name(s), combination components joined by " + ". */
  readonly generic: string
  readonly strength: string
  readonly form: string
  /** The unit stock is counted and dispensed in. */
  readonly unit: string
  /** Price per unit, minor currency units. */
  readonly price: number
  readonly controlled: boolean
}

const m = (
  item: string,
  generic: string,
  strength: string,
  form: string,
  unit: string,
  price: number,
  controlled = false,
): EssentialMedicine => ({ item: `itm_${item}` as ItemId, generic, strength, form, unit, price, controlled })

export const ESSENTIAL_MEDICINES: readonly EssentialMedicine[] = [
  m('amoxicillin-250-cap', 'Amoxicillin', '250 mg', 'capsule', 'capsule', 3),
  m(
    'amoxicillin-125-susp',
    'Amoxicillin',
    '125 mg/5 mL',
    'powder for oral suspension',
    'bottle (100 mL)',
    95,
  ),
  m('azithromycin-500-tab', 'Azithromycin', '500 mg', 'tablet', 'tablet', 18),
  m('ceftriaxone-1g-inj', 'Ceftriaxone', '1 g', 'powder for injection', 'vial', 45),
  m('ciprofloxacin-250-tab', 'Ciprofloxacin', '250 mg', 'tablet', 'tablet', 3),
  m('cotrimoxazole-480-tab', 'Sulfamethoxazole + trimethoprim', '400 mg + 80 mg', 'tablet', 'tablet', 2),
  m('doxycycline-100-tab', 'Doxycycline', '100 mg', 'tablet', 'tablet', 2),
  m('gentamicin-80-inj', 'Gentamicin', '40 mg/mL (2 mL)', 'injection', 'ampoule', 12),
  m('metronidazole-400-tab', 'Metronidazole', '400 mg', 'tablet', 'tablet', 2),
  m('fluconazole-50-cap', 'Fluconazole', '50 mg', 'capsule', 'capsule', 4),
  m('albendazole-400-tab', 'Albendazole', '400 mg', 'chewable tablet', 'tablet', 3),
  m('artemether-lumefantrine-tab', 'Artemether + lumefantrine', '20 mg + 120 mg', 'tablet', 'tablet', 8),
  m('paracetamol-500-tab', 'Paracetamol', '500 mg', 'tablet', 'tablet', 1),
  m('paracetamol-120-syr', 'Paracetamol', '120 mg/5 mL', 'oral liquid', 'bottle (60 mL)', 40),
  m('ibuprofen-200-tab', 'Ibuprofen', '200 mg', 'tablet', 'tablet', 1),
  m('morphine-10-inj', 'Morphine', '10 mg/mL (1 mL)', 'injection', 'ampoule', 60, true),
  m('morphine-10-tab', 'Morphine', '10 mg', 'tablet (immediate release)', 'tablet', 10, true),
  m('diazepam-5-tab', 'Diazepam', '5 mg', 'tablet', 'tablet', 1, true),
  m('diazepam-10-inj', 'Diazepam', '5 mg/mL (2 mL)', 'injection', 'ampoule', 20, true),
  m('ors-sachet', 'Oral rehydration salts', 'for 1 L', 'powder for oral solution', 'sachet', 8),
  m('zinc-20-tab', 'Zinc sulfate', '20 mg', 'dispersible tablet', 'tablet', 2),
  m('ferrous-folic-tab', 'Ferrous salt + folic acid', '60 mg iron + 400 micrograms', 'tablet', 'tablet', 1),
  m('metformin-500-tab', 'Metformin', '500 mg', 'tablet', 'tablet', 1),
  m('amlodipine-5-tab', 'Amlodipine', '5 mg', 'tablet', 'tablet', 1),
  m('enalapril-5-tab', 'Enalapril', '5 mg', 'tablet', 'tablet', 1),
  m('hydrochlorothiazide-25-tab', 'Hydrochlorothiazide', '25 mg', 'tablet', 'tablet', 1),
  m('salbutamol-100-inh', 'Salbutamol', '100 micrograms/dose (200 doses)', 'inhaler', 'inhaler', 180),
  m('prednisolone-5-tab', 'Prednisolone', '5 mg', 'tablet', 'tablet', 1),
  m('omeprazole-20-cap', 'Omeprazole', '20 mg', 'capsule', 'capsule', 2),
  m('oxytocin-10-inj', 'Oxytocin', '10 IU/mL (1 mL)', 'injection', 'ampoule', 25),
  m('magnesium-sulfate-inj', 'Magnesium sulfate', '500 mg/mL (10 mL)', 'injection', 'ampoule', 60),
  m('lidocaine-1-inj', 'Lidocaine', '1% (20 mL)', 'injection', 'vial', 50),
]

/** The item's display name on the formulary entry: generic name, strength and form ("Amoxicillin 250 mg capsule"). */
export function medicineName(m: EssentialMedicine): string {
  return `${m.generic} ${m.strength} ${m.form}`
}

/**
 * The `formulary-update` operation that puts one essential medicine in the formulary (active). It settles only from
 * the formulary authority (admin), like any other formulary entry.
 */
export function essentialFormularyUpdate(m: EssentialMedicine): OperationBody {
  return {
    kind: 'formulary-update',
    item: m.item,
    name: medicineName(m),
    price: m.price,
    status: 'active',
    controlled: m.controlled,
  }
}
