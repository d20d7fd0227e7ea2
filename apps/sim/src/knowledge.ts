import type * as A from '@automerge/automerge'
import type { ChartCollection } from '@clinic-mesh/records'
import type { DeviceLogDoc, Hlc, OperationOf } from '@clinic-mesh/ledger'
import { compareHlc, logOps } from '@clinic-mesh/ledger'
import type { Replica } from './replica.js'

export interface Lot {
  readonly batch: string
  readonly item: string
  tentative: number
}

/** What a replica currently knows from its documents: formulary prices, lots and tentative stock, patients. */
export interface Knowledge {
  readonly prices: Map<string, { price: number; at: Hlc }>
  readonly lots: Lot[]
  readonly patients: string[]
  /** Dispenses with a named lot, in log order (returns refer to them). */
  readonly dispenses: {
    readonly id: string
    readonly device: string
    readonly batch: string
    readonly item: string
  }[]
  readonly latest: Hlc | null
}

export function logDocs(r: Replica): [string, A.Doc<DeviceLogDoc>][] {
  return r
    .docIds()
    .filter((id) => id.startsWith('log-'))
    .map((id) => [id, r.doc<DeviceLogDoc>(id)])
}

export function bucketDocs(r: Replica): [string, A.Doc<ChartCollection>][] {
  return r
    .docIds()
    .filter((id) => id.startsWith('bucket-'))
    .map((id) => [id, r.doc<ChartCollection>(id)])
}

/** Scan the replica's logs (sorted lot list, prices by HLC) and charts; deterministic order throughout. */
export function knowledgeOf(r: Replica): Knowledge {
  const prices = new Map<string, { price: number; at: Hlc }>()
  const lots = new Map<string, Lot>()
  const out: OperationOf<'dispense'>[] = []
  let latest: Hlc | null = null
  for (const [, doc] of logDocs(r)) {
    const ops = logOps(doc)
    const last = ops[ops.length - 1]
    if (last && (!latest || compareHlc(last.hlc, latest) > 0)) latest = last.hlc
    for (const op of ops) {
      if (op.kind === 'formulary-update') {
        const p = prices.get(op.item)
        if (!p || compareHlc(p.at, op.hlc) < 0) prices.set(op.item, { price: op.price, at: op.hlc })
      } else if (op.kind === 'receive') {
        const lot = lots.get(op.batch)
        if (lot) lot.tentative += op.quantity
        else lots.set(op.batch, { batch: op.batch, item: op.item, tentative: op.quantity })
      } else if (op.kind === 'dispense') out.push(op)
    }
  }
  for (const op of out) {
    const lot = op.batch === null ? undefined : lots.get(op.batch)
    if (lot) lot.tentative -= op.quantity
  }
  const patients: string[] = []
  for (const [, doc] of bucketDocs(r)) patients.push(...Object.keys(doc.charts))
  patients.sort()
  const dispenses = out.flatMap((op) =>
    op.batch === null ? [] : [{ id: op.id, device: op.device, batch: op.batch, item: op.item }],
  )
  return {
    prices,
    lots: [...lots.values()].sort((a, b) => (a.batch < b.batch ? -1 : 1)),
    patients,
    dispenses,
    latest,
  }
}
