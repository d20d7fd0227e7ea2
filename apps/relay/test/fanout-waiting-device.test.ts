import * as Automerge from '@automerge/automerge'
import type { AutomergeUrl, DocHandle, Repo } from '@automerge/automerge-repo'
import { generateAutomergeUrl, parseAutomergeUrl } from '@automerge/automerge-repo'
import { Relay } from '@clinic-mesh/relay'
import { startPostgresCluster, type PostgresCluster } from '@clinic-mesh/testing'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { firstDeviceAt } from '../../../test/helpers/first-device.js'

// Two relay instances, A and B, in this process on one throwaway PostgreSQL, and a device linked to B. The device
// asks B for a document B does not have yet; A then stores it. The device must receive it from B, whichever came
// first at B: the document's mapping to the clinic (what B may serve) or its arrival in storage (what B can serve).
// The second case is the fan-out miss seen at 100 clinics (bench P12): a device asked for a clinic's settled inventory
// before B had read the checkpoint naming it, B refused (not yet the clinic's), mapped it a moment later and never
// sent it: automerge-repo re-offers a refused document only to its synchronizers, and B never opened that document.

let cluster: PostgresCluster
const relays: Relay[] = []
const repos: Repo[] = []

beforeAll(async () => {
  cluster = await startPostgresCluster()
})
afterEach(async () => {
  for (const r of repos.splice(0)) await r.shutdown()
  for (const r of relays.splice(0)) await r.stop()
})
afterAll(async () => {
  await cluster?.stop()
})

const quiet = (): void => {}

async function instance(): Promise<Relay> {
  const r = await Relay.start({ postgres: cluster.url, port: 0, logger: quiet, leaseMs: 1000 })
  relays.push(r)
  return r
}

/** A device of `clinic` registered at `relay` (its first device: the clinic's directory is its own), connected there. */
async function deviceAt(relay: Relay, clinic: string): Promise<Repo> {
  const repo = await firstDeviceAt(relay.port, clinic)
  repos.push(repo)
  return repo
}

/** Instance A stores a new document under `url` (its storage announces it to the other instances). */
async function storeAt(a: Relay, url: AutomergeUrl): Promise<void> {
  const { documentId } = parseAutomergeUrl(url)
  const doc = Automerge.from({ kind: 'settled-inventory/1', decidedOps: 7 })
  a.repo.import(Automerge.save(doc), { docId: documentId })
  await a.repo.flush([documentId])
}

/** Until the handle is ready (the repo's own wait gives up only after 60 s). */
async function readyWithin(h: DocHandle<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the device never received the document (${ms} ms)`)), ms)
  })
  try {
    await Promise.race([h.whenReady(['ready']), late])
  } finally {
    clearTimeout(timer)
  }
}

/** The device's handle once B answered "unavailable" (B has nothing to send yet). */
async function askedAndRefused(device: Repo, url: AutomergeUrl) {
  const h = await device.find<{ decidedOps: number }>(url, { allowableStates: ['ready', 'unavailable'] })
  expect(h.state, 'B has nothing to send yet').toBe('unavailable')
  return h
}

describe('fan-out to a device that asked before its instance had the document', () => {
  it('sends a document B serves but had not stored, once A stores it', async () => {
    const [a, b] = [await instance(), await instance()]
    const device = await deviceAt(b, 'clinic-w1')
    const url = generateAutomergeUrl()
    b.access.addDoc(parseAutomergeUrl(url).documentId, 'clinic-w1')
    const h = await askedAndRefused(device, url)
    await storeAt(a, url)
    await readyWithin(h, 10_000)
    expect(h.doc().decidedOps).toBe(7)
  })

  it('sends a document B mapped to the clinic only after the device asked for it', async () => {
    const [a, b] = [await instance(), await instance()]
    const device = await deviceAt(b, 'clinic-w2')
    const url = generateAutomergeUrl()
    const id = parseAutomergeUrl(url).documentId
    // B refuses: the document is nobody's yet (as the settled inventory before B read the checkpoint naming it)
    const h = await askedAndRefused(device, url)
    await storeAt(a, url)
    // B reads the checkpoint: the document is the clinic's (what SettlementPublisher.follow does on a follower)
    b.access.addDoc(id, 'clinic-w2')
    await readyWithin(h, 10_000)
    expect(h.doc().decidedOps).toBe(7)
  })
})
