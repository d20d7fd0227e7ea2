import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  AdjustmentRequestSchema,
  CountRequestSchema,
  InvalidInputError,
  type AdjustmentRequest,
  type CountRequest,
  type ItemId,
  type RegisterReply,
} from '@clinic-mesh/contracts'
import { stockRegister, type Operation, type RegisterConflict } from '@clinic-mesh/ledger'
import { ForbiddenError, logout, signAdjustmentApproval } from '@clinic-mesh/security'
import type { DeviceLedger } from './device-ledger.js'
import { UnknownLotError } from './errors.js'
import { readBody, sendJson } from './http-util.js'
import type { NodeHost } from './node-host.js'
import { ready, signer, who } from './route-context.js'
import type { StockActor } from './stock-api.js'

/** What the stock-control routes need from the node. */
export type StockControlHost = Pick<
  NodeHost,
  'auth' | 'relay' | 'deviceSigningKey' | 'peerId' | 'ledger' | 'config'
>

/** The lot as this node knows it at its site (settled or received here): it must be a lot of `item`. */
async function lotOf(ledger: DeviceLedger, item: string, batch: string): Promise<{ tentative: number }> {
  const line = (await ledger.stock()).lines.find((l) => l.batch === batch)
  if (!line || line.item !== item)
    throw new UnknownLotError(
      line
        ? `lot ${batch} is ${line.item}, not ${item}: nothing recorded`
        : `lot ${batch} is not a lot this tablet knows: nothing recorded`,
    )
  return { tentative: line.tentative }
}

/** `POST /api/stock/counts`: a `count` operation whose `stockSeen` is this node's tentative stock of the lot. */
type Recorded = { op: Operation; duplicate: boolean }

async function count(ledger: DeviceLedger, request: CountRequest, actor: StockActor): Promise<Recorded> {
  const { tentative } = await lotOf(ledger, request.item, request.batch)
  return ledger.append(
    request.id,
    {
      kind: 'count',
      item: request.item,
      batch: request.batch,
      counted: request.counted,
      stockSeen: tentative,
    },
    { user: actor.user, role: actor.role },
    actor.signer,
  )
}

/**
 * `POST /api/stock/adjustments`: an `adjustment-request`. With `approver` a supervisor at the tablet typed their
 * password: the node unlocks their key through the login guard, checks the register makes them a supervisor other
 * than the requester, signs the approval over the request (security `signAdjustmentApproval`) and wipes the key. The
 * relay checks it all again; without an approver the request waits for a supervisor at the reviewer console.
 */
async function adjust(
  node: StockControlHost,
  request: AdjustmentRequest,
  actor: StockActor,
): Promise<Recorded> {
  const ledger = ready(node.ledger)
  await lotOf(ledger, request.item, request.batch)
  const body = {
    item: request.item,
    batch: request.batch,
    delta: request.delta,
    reason: request.reason,
    corrects: request.corrects ?? null,
  }
  let approval = null
  if (request.approver) {
    const witness = await ready(node.auth).unlockWitness(request.approver.user, request.approver.password)
    try {
      if (witness.role !== 'supervisor')
        throw new ForbiddenError(
          'approver',
          `${witness.name} is a ${witness.role}: only a supervisor approves`,
        )
      if (witness.user === actor.user)
        throw new ForbiddenError('approver', 'a supervisor may not approve their own request')
      const signed = { id: request.id, device: ledger.device, user: actor.user, site: ledger.site, ...body }
      approval = {
        user: witness.user,
        role: witness.role,
        signature: signAdjustmentApproval(signed, witness.user, witness.signingKey),
      }
    } finally {
      logout(witness)
    }
  }
  return ledger.append(
    request.id,
    { kind: 'adjustment-request', ...body, approval },
    { user: actor.user, role: actor.role },
    actor.signer,
  )
}

/** The parts of a conflict-queue entry (the relay's JSON of a ledger `Conflict`) the register reads. */
interface QueueEntry {
  id?: string
  kind?: string
  detail?: string
  critical?: boolean
  status?: string
  op?: { id?: string }
  authority?: { stock?: number }
  resolution?: {
    decision?: { action: string; quantity?: number; adjustment?: { delta: number } | null }
    by?: string
    approvedBy?: { user?: string } | null
  } | null
}

function parseEntry(raw: string): QueueEntry | undefined {
  try {
    const c = JSON.parse(raw) as unknown
    return c !== null && typeof c === 'object' ? c : undefined
  } catch {
    return undefined
  }
}

/** The relay's conflict queue (when it verifies) by operation id, in the register's terms. */
async function conflictsByOp(
  ledger: DeviceLedger,
): Promise<{ verified: boolean; byOp: Map<string, RegisterConflict> }> {
  const { verified, entries } = await ledger.conflictEntries()
  const byOp = new Map<string, RegisterConflict>()
  for (const raw of entries) {
    const c = parseEntry(raw)
    if (!c?.op?.id || typeof c.kind !== 'string') continue
    const d = c.resolution?.decision
    byOp.set(c.op.id, {
      id: c.id ?? `c_${c.op.id}`,
      kind: c.kind,
      detail: c.detail ?? '',
      critical: c.critical === true,
      status: c.status === 'resolved' ? 'resolved' : 'open',
      decision:
        c.status === 'resolved' && d
          ? {
              action: d.action,
              ...(typeof d.quantity === 'number' ? { quantity: d.quantity } : {}),
              ...(d.adjustment ? { adjustment: d.adjustment } : {}),
              by: c.resolution?.by ?? '',
              approvedBy: c.resolution?.approvedBy?.user ?? null,
            }
          : null,
      authorityStock: typeof c.authority?.stock === 'number' ? c.authority.stock : null,
    })
  }
  return { verified, byOp }
}

/** `GET /api/stock/register?item=`: the item's register at this site, with settled and tentative balances. */
async function register(ledger: DeviceLedger, item: string): Promise<RegisterReply> {
  const view = await ledger.stock()
  const { verified, byOp } = await conflictsByOp(ledger)
  const entries = stockRegister(item, ledger.site, await ledger.operations(), byOp)
  const lines = view.lines.filter((l) => l.item === item)
  const info = view.items[item as ItemId]
  return {
    item,
    name: info?.name ?? null,
    controlled: info?.controlled === true,
    entries,
    settled: view.settledAt === null ? null : lines.reduce((n, l) => n + l.settled, 0),
    tentative: lines.reduce((n, l) => n + l.tentative, 0),
    conflictsVerified: verified,
  }
}

/**
 * Controlled-drug counts, stock adjustments and the per-item register (issue 15 items 6 and 7). Returns false for any
 * other path.
 */
export async function stockControlRoute(
  node: StockControlHost,
  req: IncomingMessage,
  res: ServerResponse,
  parts: string[],
  url: URL,
): Promise<boolean> {
  const [, a, b] = parts
  if (a !== 'stock' || parts.length !== 3) return false
  const method = req.method ?? 'GET'
  if (b === 'counts' && method === 'POST') {
    const actor = signer(node, req, 'count-stock')
    const r = await count(ready(node.ledger), await readBody(req, CountRequestSchema), actor)
    sendJson(res, r.duplicate ? 200 : 201, {
      operation: { ...r.op, status: 'tentative' },
      duplicate: r.duplicate,
    })
    return true
  }
  if (b === 'adjustments' && method === 'POST') {
    const actor = signer(node, req, 'request-adjustment')
    const r = await adjust(node, await readBody(req, AdjustmentRequestSchema), actor)
    sendJson(res, r.duplicate ? 200 : 201, {
      operation: { ...r.op, status: 'tentative' },
      duplicate: r.duplicate,
    })
    return true
  }
  if (b === 'register' && method === 'GET') {
    who(node, req, 'read-chart')
    const item = url.searchParams.get('item')
    if (!item || item.length > 256) throw new InvalidInputError('item is required (?item=)')
    sendJson(res, 200, await register(ready(node.ledger), item))
    return true
  }
  return false
}
