import { readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/** DATA/address-book.json: the mesh's last-known peer addresses and this device's own mesh port. */
export const ADDRESS_BOOK_FILE = 'address-book.json'
const KIND = 'clinic-mesh/address-book/1'

export interface AddressFileContent {
  /** the TCP port this device's mesh listened on: reused at the next start so peers' books stay right */
  meshPort: number | null
  /** peer id → multiaddrs (with /p2p/<id>), newest first */
  peers: Record<string, string[]>
}

/**
 * The address book on disk (not patient data: peer ids and LAN addresses; see docs/THREAT_MODEL.md). Unreadable or
 * foreign content is treated as empty: the book is a hint, mDNS and an admin's "connect to" still work without it.
 */
export class MeshAddressFile {
  readonly path: string
  #writing: Promise<void> = Promise.resolve()

  constructor(dataDir: string) {
    this.path = join(dataDir, ADDRESS_BOOK_FILE)
  }

  async load(): Promise<AddressFileContent> {
    try {
      const raw = JSON.parse(await readFile(this.path, 'utf8')) as Partial<{
        kind: string
        meshPort: unknown
        peers: unknown
      }>
      if (raw.kind !== KIND) return { meshPort: null, peers: {} }
      const port = typeof raw.meshPort === 'number' && Number.isInteger(raw.meshPort) ? raw.meshPort : null
      const peers: Record<string, string[]> = {}
      if (raw.peers !== null && typeof raw.peers === 'object')
        for (const [id, addrs] of Object.entries(raw.peers as Record<string, unknown>))
          if (Array.isArray(addrs)) peers[id] = addrs.filter((a): a is string => typeof a === 'string')
      return { meshPort: port !== null && port > 0 && port < 65536 ? port : null, peers }
    } catch {
      return { meshPort: null, peers: {} }
    }
  }

  /** Writes atomically (temp file + rename), one write at a time, the last one winning. */
  save(content: AddressFileContent): Promise<void> {
    const tmp = `${this.path}.tmp`
    const body = JSON.stringify({ kind: KIND, ...content }, null, 2)
    this.#writing = this.#writing
      .catch(() => undefined)
      .then(async () => {
        await writeFile(tmp, body, { mode: 0o600 })
        await rename(tmp, this.path)
      })
    return this.#writing
  }
}

/** `/ip4/0.0.0.0/tcp/0` → `/ip4/0.0.0.0/tcp/<port>`: listen where peers last saw this device. */
export function withRememberedPort(listen: string[], port: number | null): string[] {
  if (port === null) return listen
  return listen.map((a) => a.replace(/\/tcp\/0$/, `/tcp/${port}`))
}

/** The TCP port the mesh listens on (the first IPv4 TCP address), if any. */
export function meshPortOf(multiaddrs: string[]): number | null {
  for (const a of multiaddrs) {
    const m = /^\/ip4\/[\d.]+\/tcp\/(\d+)/.exec(a)
    if (m) return Number(m[1])
  }
  return null
}
