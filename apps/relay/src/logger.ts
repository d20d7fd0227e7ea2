/**
 * Structured log lines on stderr (stdout carries only the `listening` line). Callers pass ids and counts only:
 * never patient names or other clinical content.
 */
export type Logger = (event: string, fields?: Record<string, string | number | boolean | null>) => void

export const stderrLogger: Logger = (event, fields = {}) => {
  process.stderr.write(`${JSON.stringify({ t: new Date().toISOString(), event, ...fields })}\n`)
}

export const silentLogger: Logger = () => {}
