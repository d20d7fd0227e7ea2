import type { IncomingMessage, ServerResponse } from 'node:http'
import type { OperationOutcome } from '@medplum/fhirtypes'
import { InvalidInputError } from '@clinic-mesh/contracts'
import { deviceCapabilities, everythingBundle, summaryBundle } from '@clinic-mesh/fhir'
import { DeviceRevokedError, RouteNotFoundError } from './errors.js'
import { patientIdOf, patientResources } from './fhir-chart.js'
import { importBundle } from './fhir-import.js'
import { errorReply, readJson } from './http-util.js'
import type { FhirHost } from './node-host.js'
import { ready, who } from './route-context.js'

const FHIR_JSON = 'application/fhir+json; charset=utf-8'

function sendFhir(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': FHIR_JSON,
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  })
  res.end(text)
}

/** A refusal as FHIR clients read it: an OperationOutcome, our error name in `details.coding` (system `urn:clinic-mesh:error`). */
function errorOutcome(err: unknown): { status: number; body: OperationOutcome } {
  const { status, body } = errorReply(err)
  const code =
    status === 401
      ? 'login'
      : status === 403
        ? 'forbidden'
        : status === 404
          ? 'not-found'
          : status >= 500
            ? 'exception'
            : 'invalid'
  const { name, message } = body.error
  return {
    status,
    body: {
      resourceType: 'OperationOutcome',
      issue: [
        {
          severity: 'error',
          code,
          diagnostics: message,
          details: { coding: [{ system: 'urn:clinic-mesh:error', code: name }], text: message },
        },
      ],
    },
  }
}

/** FHIR clients send `application/fhir+json`: the same JSON, and like `application/json` never a simple (CSRF-able) request. */
function acceptFhirJson(req: IncomingMessage): void {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase()
  if (type === 'application/fhir+json') req.headers['content-type'] = 'application/json'
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s)
  } catch {
    throw new InvalidInputError('malformed percent-encoding in the path')
  }
}

function base(req: IncomingMessage): string {
  return `http://${req.headers.host ?? '127.0.0.1'}/fhir`
}

/**
 * The FHIR R4 surface of the device node (docs/FHIR.md), after the same Host/Origin checks as `/api`:
 * - `GET /fhir/metadata`: the CapabilityStatement (no session needed);
 * - `GET /fhir/Patient/:id/$everything`: a searchset Bundle of every resource of the chart;
 * - `GET /fhir/Patient/:id/$summary`: an International Patient Summary document Bundle;
 *   both for the roles that may read a chart (`read-chart`), audited as a read of the chart;
 * - `POST /fhir` with a collection, batch or transaction Bundle: the import (`fhir-import.ts`), for the roles that
 *   may register a patient, audited as a change of each chart it touched.
 * Errors answer as OperationOutcome with our error's name.
 */
export async function handleFhir(
  node: FhirHost,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<void> {
  try {
    if (node.revoked)
      throw new DeviceRevokedError('this device was revoked by the clinic; its clinic data has been wiped')
    const parts = path.split('/').filter(Boolean) // ['fhir', ...]
    const method = req.method ?? 'GET'
    const [, type, rawId, op] = parts
    // the CapabilityStatement names no patient and no user: open, like GET /api/status
    if (type === 'metadata' && parts.length === 2 && method === 'GET') {
      return sendFhir(res, 200, deviceCapabilities({ name: 'clinic-mesh device', version: '0.1.0' }))
    }
    if (
      type === 'Patient' &&
      rawId &&
      (op === '$everything' || op === '$summary') &&
      parts.length === 4 &&
      method === 'GET'
    ) {
      const p = who(node, req, 'read-chart')
      const id = patientIdOf(decodeSegment(rawId))
      const resources = await patientResources(node, id)
      await ready(node.audit).record(p.user, 'read', `patient:${id}`)
      if (op === '$everything') return sendFhir(res, 200, everythingBundle(resources, { base: base(req) }))
      const device = { id: node.config.deviceId, name: node.config.name, peerId: node.peerId }
      return sendFhir(res, 200, summaryBundle(resources, { base: base(req), device }))
    }
    if (parts.length === 1 && method === 'POST') {
      const p = who(node, req, 'register-patient')
      acceptFhirJson(req)
      const body = await readJson(req)
      const { bundle, created } = await importBundle(node, body, p)
      const audit = ready(node.audit)
      const touched = new Set<string>(created)
      for (const e of bundle.entry ?? []) {
        const loc = e.response?.location
        if (loc?.startsWith('Patient/')) touched.add(patientIdOf(loc.slice('Patient/'.length)))
      }
      await audit.recordMany(
        p.user,
        'change',
        [...touched].map((id) => `patient:${id}`),
      )
      return sendFhir(res, 200, bundle)
    }
    throw new RouteNotFoundError(`no route ${method} ${path}`)
  } catch (err) {
    const { status, body } = errorOutcome(err)
    if (status === 413) res.setHeader('connection', 'close')
    sendFhir(res, status, body)
  }
}
