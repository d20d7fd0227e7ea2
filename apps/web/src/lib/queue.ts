import { str, type ChartCollection, type QueueStatus } from '@clinic-mesh/records'

export interface QueueEntry {
  pid: string
  eid: string
  name: string
  reason: string
  queue: QueueStatus
  arrivedAt: string
  /** Which role sections are marked done. */
  done: string[]
}

/** Today's open visits across the buckets the browser holds, oldest arrival first. */
export function todaysQueue(buckets: ChartCollection[], today = new Date()): QueueEntry[] {
  const day = today.toDateString()
  const out: QueueEntry[] = []
  for (const b of buckets) {
    for (const [pid, chart] of Object.entries(b.charts)) {
      for (const [eid, enc] of Object.entries(chart.encounters)) {
        const arrivedAt = str(enc.registration.arrivedAt)
        if (new Date(arrivedAt).toDateString() !== day || str(enc.status) !== 'open') continue
        const done = (['registration', 'triage', 'clinician', 'pharmacy'] as const).filter(
          (s) => str(enc[s].status) === 'done',
        )
        out.push({
          pid,
          eid,
          name: `${str(chart.patient.name.given)} ${str(chart.patient.name.family)}`.trim(),
          reason: str(enc.registration.reason),
          queue: str(enc.registration.queue) || 'waiting',
          arrivedAt,
          done,
        })
      }
    }
  }
  return out.sort((a, b) => (a.arrivedAt < b.arrivedAt ? -1 : 1))
}

export const QUEUE_LABELS: Record<QueueStatus, string> = {
  waiting: 'Waiting',
  triage: 'At triage',
  consultation: 'For the clinician',
  pharmacy: 'For the pharmacy',
  done: 'Done',
  left: 'Left without being seen',
}

const MINE: Record<string, QueueStatus[]> = {
  registration: ['waiting'],
  nurse: ['waiting', 'triage'],
  clinician: ['consultation'],
  pharmacist: ['pharmacy'],
}

/** Whether a queue entry is waiting for this role. */
export function isForRole(entry: QueueEntry, role: string): boolean {
  return (MINE[role] ?? []).includes(entry.queue)
}
