/**
 * Operational log: one JSON line per event on stderr. Callers pass ids, counts and error names only, never
 * patient names or other clinical content.
 */
export function log(event: string, fields: Record<string, string | number | boolean | null> = {}): void {
  process.stderr.write(`${JSON.stringify({ at: new Date().toISOString(), event, ...fields })}\n`)
}
