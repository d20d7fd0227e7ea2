import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { Repo } from '@automerge/automerge-repo'
import { MemoryStorage } from '@clinic-mesh/testing'
import { AUTOMERGE_PINNED, automergeHookInternals } from '@clinic-mesh/store'

/** The installed version of a package (its exports map hides package.json: walk up from its entry point). */
function versionOf(pkg: string): string {
  let dir = dirname(createRequire(import.meta.url).resolve(pkg))
  for (;;) {
    try {
      const json = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string
        version: string
      }
      if (json.name === pkg) return json.version
    } catch {
      // not here: one level up
    }
    const up = dirname(dir)
    if (up === dir) throw new Error(`no package.json of ${pkg}`)
    dir = up
  }
}

describe('the hooks into Automerge internals (packages/store/src/pinned)', () => {
  it('are pinned: every internal they wrap is there, in the versions they were measured on', () => {
    const repo = new Repo({ storage: new MemoryStorage(), network: [] })
    const found = automergeHookInternals(repo)
    // an upgrade that changes any of these fails here: re-measure, then re-pin or drop the hook (pinned/index.ts)
    expect(Object.entries(found).filter(([, ok]) => !ok)).toEqual([])
    expect(Object.keys(found).length).toBeGreaterThanOrEqual(15)
    expect(versionOf('@automerge/automerge')).toBe(AUTOMERGE_PINNED.automerge)
    expect(versionOf('@automerge/automerge-repo')).toBe(AUTOMERGE_PINNED['automerge-repo'])
  })
})
