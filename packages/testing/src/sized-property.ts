import fc from 'fast-check'

export interface SizedRunOptions {
  /** Seed of fast-check's generator: the first runs are the same on every machine. */
  seed: number
  /** Runs on a machine with time to spare. */
  maxRuns: number
  /** Fewer runs than this within the budget fails the test (a machine too slow to test is said, not hidden). */
  minRuns: number
  /** Wall-clock budget of the property: runs stop being started after it (a loaded 2-core box does fewer). */
  budgetMs: number
}

/** How many runs a sized property made, for a test that wants to report it. */
export interface SizedRunResult {
  runs: number
  interrupted: boolean
}

export class PropertyTooSlowError extends Error {
  static override readonly name = 'PropertyTooSlowError'
  override readonly name = 'PropertyTooSlowError'
}

/**
 * Checks a fast-check property as many times as fit in a time budget, between `minRuns` and `maxRuns`: sized to the
 * machine it runs on instead of to a quiet one (a fixed 2,000 runs took 79 s alone and timed out under load). A
 * counterexample fails the test with fast-check's own report (seed and path to replay it).
 */
export async function assertSized<Ts extends [unknown, ...unknown[]]>(
  property: fc.IProperty<Ts> | fc.IAsyncProperty<Ts>,
  opts: SizedRunOptions,
): Promise<SizedRunResult> {
  const details = await fc.check(property, {
    seed: opts.seed,
    numRuns: opts.maxRuns,
    interruptAfterTimeLimit: opts.budgetMs,
    markInterruptAsFailure: false,
  })
  if (details.failed) throw new Error(fc.defaultReportMessage(details) ?? 'property failed')
  if (details.numRuns < opts.minRuns) {
    throw new PropertyTooSlowError(
      `only ${details.numRuns} runs of the property fit in ${opts.budgetMs} ms (at least ${opts.minRuns} wanted): the machine is too busy to test it`,
    )
  }
  return { runs: details.numRuns, interrupted: details.interrupted }
}
