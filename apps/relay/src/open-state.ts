import { FileRelayState } from './file-relay-state.js'
import { PostgresRelayState } from './postgres-relay-state.js'
import type { RelayOptions } from './relay-options.js'
import type { RelayState } from './relay-state.js'

/** The relay's state: PostgreSQL (`postgres`, any number of instances) or files under `dataDir` (one relay). */
export async function openState(opts: RelayOptions): Promise<RelayState> {
  if (opts.postgres)
    return PostgresRelayState.open({
      url: opts.postgres,
      ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
      ...(opts.leaseMs ? { leaseMs: opts.leaseMs } : {}),
    })
  if (!opts.dataDir) throw new TypeError('a relay needs dataDir (files) or postgres')
  return Promise.resolve(new FileRelayState(opts.dataDir, opts.store))
}
