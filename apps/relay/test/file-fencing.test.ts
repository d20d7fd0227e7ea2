import * as A from '@automerge/automerge'
import { Repo } from '@automerge/automerge-repo'
import { FileRelayState, FileSettlementStore, emptyMeta, type Checkpoint } from '@clinic-mesh/relay'
import { tempDir, type TempDir } from '@clinic-mesh/testing'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

// A relay on its files shows a device a change of its settled inventory only once that change is on disk: the
// repo's own (debounced) saves of a relay-only document are dropped, and the document is written with each
// checkpoint. Before, a relay killed between a round reaching a device and the repo's save came back without that
// change, refused it from the device (a peer may not write a relay-only document) and the device never converged.

interface Inv {
  state: string
}

const cp: Checkpoint = { meta: emptyMeta(), engine: new Uint8Array([1]) }

describe('relay files: published documents are fenced', () => {
  let dir: TempDir
  beforeEach(async () => {
    dir = await tempDir('relay-fencing-')
  })
  afterEach(async () => {
    await dir.remove()
  })

  it('never writes a relay-only document through the repo; its checkpoint write does, and a restart reads it', async () => {
    const state = new FileRelayState(dir.path)
    const repo = new Repo({ storage: state.storage })
    const inv = repo.create<Inv>({ state: 'empty' })
    const other = repo.create<Inv>({ state: 'a device log' })
    state.markFenced(inv.documentId)
    inv.change((d) => {
      d.state = 'round 1'
    })
    other.change((d) => {
      d.state = 'changed'
    })
    await repo.flush()
    expect(await state.loadChunks(inv.documentId), 'the repo wrote a relay-only document').toEqual([])
    expect((await state.loadChunks(other.documentId)).length).toBeGreaterThan(0)

    await state.checkpoints.save('clinic-x', cp, [{ documentId: inv.documentId, bytes: A.save(inv.doc()) }])
    await repo.shutdown()

    const again = new FileRelayState(dir.path)
    const chunks = await again.loadChunks(inv.documentId)
    const stored = chunks.reduce((d, c) => A.loadIncremental(d, c), A.init<Inv>())
    expect(stored.state).toBe('round 1')
    expect([...((await again.checkpoints.load('clinic-x'))?.engine ?? [])]).toEqual([1])
  })

  it('refuses to checkpoint published documents into a store that has nowhere to put them', async () => {
    const bare = new FileSettlementStore(dir.path)
    await expect(
      bare.save('clinic-x', cp, [{ documentId: 'doc', bytes: new Uint8Array([1]) }]),
    ).rejects.toMatchObject({ name: 'CheckpointError' })
  })
})
