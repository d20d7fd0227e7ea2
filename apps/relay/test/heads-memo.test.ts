import { afterAll, describe, expect, it } from 'vitest'
import { Relay } from '@clinic-mesh/relay'
import { headsMemoStats } from '@clinic-mesh/store'
import { tempDir, type TempDir } from '@clinic-mesh/testing'

const quiet = (): void => {}
let dir: TempDir | undefined
let relay: Relay | undefined

afterAll(async () => {
  await relay?.stop()
  await dir?.remove()
})

describe("the relay's Automerge hooks", () => {
  it("memoizes automerge-repo's encoding of heads (store pinned/heads-memo.ts, bench P12)", async () => {
    expect(headsMemoStats().installed).toBe(false)
    dir = await tempDir('relay-heads-memo-')
    relay = await Relay.start({ dataDir: dir.path, port: 0, logger: quiet })
    expect(headsMemoStats().installed).toBe(true)
    const handle = relay.repo.create<{ n: number }>({ n: 0 })
    const before = headsMemoStats()
    for (let i = 1; i <= 5; i++) handle.change((d) => void (d.n = i))
    await relay.repo.flush([handle.documentId])
    expect(headsMemoStats().hits - before.hits).toBeGreaterThanOrEqual(5)
  })
})
