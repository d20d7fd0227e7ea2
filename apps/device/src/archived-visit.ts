import { plain, UnknownRecordError, type ChartCollection } from '@clinic-mesh/records'
import { UnknownPatientError, type ClinicStore } from '@clinic-mesh/store'
import { ClinicNotReadyError } from './errors.js'

/**
 * `GET /api/patients/:id/visits/:encounterId`. `here`: on this device (the chart, or an archive it holds); `fetched`:
 * its archive document just arrived from a peer or the relay; `fetching`: not yet (200 vs 202), with where it is.
 */
export type VisitAnswer =
  | {
      state: 'here' | 'fetched'
      patientId: string
      encounterId: string
      archived?: { year: number }
      encounter: unknown
    }
  | {
      state: 'fetching'
      patientId: string
      encounterId: string
      archived: { year: number; openedAt: string; closedAt?: string; reason?: string }
      /** Peers that hold the visit's year (root `archiveFrom`), and whether this device has a relay to ask. */
      where: { peers: string[]; relay: boolean }
    }

/** A fetch of an archive document goes on this long in the background after the request that started it answered. */
const FETCH_MS = 120_000

export async function visitOf(
  store: ClinicStore<ChartCollection>,
  patientId: string,
  encounterId: string,
  options: { waitMs: number; relay: boolean },
): Promise<VisitAnswer> {
  const bucket = await within(store.bucketFor(patientId), 5_000, `the chart of ${patientId}`)
  const chart = bucket.doc().charts[patientId]
  if (!chart) throw new UnknownPatientError(patientId)
  const ids = { patientId, encounterId }
  const enc = chart.encounters[encounterId]
  if (enc) return { state: 'here', ...ids, encounter: plain(enc) }
  const stub = chart.archived?.[encounterId]
  if (!stub) throw new UnknownRecordError(`no visit ${encounterId} on the chart of ${patientId}`)
  const year = stub.year
  const shelf = store.archives
  const before = shelf.whereabouts(year, patientId)
  const fetch = shelf.visit(year, patientId, encounterId, AbortSignal.timeout(FETCH_MS))
  fetch.catch(() => undefined) // a fetch that outlives this request and gives up is tried anew by the next one
  const entry = await Promise.race([
    fetch.catch(() => null),
    new Promise<undefined>((r) => setTimeout(() => r(undefined), options.waitMs).unref()),
  ])
  if (entry === null && before === 'here')
    throw new ClinicNotReadyError(`the ${year} archive could not be read`)
  if (entry)
    return {
      state: before === 'here' ? 'here' : 'fetched',
      ...ids,
      archived: { year },
      encounter: plain(entry.encounter),
    }
  if (entry === null || shelf.whereabouts(year, patientId) === 'here')
    throw new UnknownRecordError(`visit ${encounterId} is not in the ${year} archive`)
  return {
    state: 'fetching',
    ...ids,
    archived: plain(stub) as { year: number; openedAt: string; closedAt?: string; reason?: string },
    where: { peers: shelf.holdersOf(year), relay: options.relay },
  }
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ClinicNotReadyError(`${what} is not on this device yet`)), ms)
  })
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer))
}
