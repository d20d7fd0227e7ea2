import * as v from 'valibot'
import { InvalidInputError, type InputIssue } from './errors.js'

/** Every issue of a failed parse as `{ path, message }`: `path` is dotted (`decision.batch`, `items.0`), `''` for the whole value. */
export function issuesOf(issues: readonly v.BaseIssue<unknown>[]): InputIssue[] {
  return issues.map((i) => {
    const path = (i.path ?? []).map((p) => String(p.key)).join('.')
    // an unexpected key and a missing one get words of their own; the rest carry the schema's message
    if (i.type === 'strict_object' && i.input !== undefined) return { path, message: 'is not expected here' }
    if (i.input === undefined && i.kind === 'schema' && path !== '') return { path, message: 'is required' }
    // valibot's own wording ("Invalid type: Expected Object but received 5") where a schema gave none
    if (i.message.startsWith('Invalid '))
      return { path, message: `must be ${i.expected ?? 'something else'} (got ${i.received})` }
    return { path, message: i.message }
  })
}

/** The issues in one sentence: `quantity must be 1 or more; batch is required`. */
export function describeIssues(issues: readonly InputIssue[]): string {
  return issues.map((i) => (i.path === '' ? i.message : `${i.path} ${i.message}`)).join('; ')
}

/**
 * Parses untrusted input (a request body, a reply, a synced document) with a contract schema. Returns the typed
 * output, or throws `InvalidInputError` naming every invalid field (not only the first). `what` names the value in
 * the message (`request body`, `reply of GET /api/status`).
 */
export function parseWith<S extends v.GenericSchema>(
  schema: S,
  input: unknown,
  what = 'input',
): v.InferOutput<S> {
  const r = v.safeParse(schema, input)
  if (r.success) return r.output
  const issues = issuesOf(r.issues)
  throw new InvalidInputError(`${what}: ${describeIssues(issues)}`, { issues })
}

/** Any contract schema, and what it parses to (so callers need not import valibot for a signature). */
export type Schema = v.GenericSchema
export type Output<S extends Schema> = v.InferOutput<S>
/** What a schema accepts (a request body before parsing: branded ids are plain strings here). */
export type Input<S extends Schema> = v.InferInput<S>

/** The typed output, or undefined when the input does not fit (for callers that answer a misfit with their own error). */
export function tryParse<S extends Schema>(schema: S, input: unknown): Output<S> | undefined {
  const r = v.safeParse(schema, input)
  return r.success ? r.output : undefined
}
