/**
 * The methods of Automerge's WebAssembly document class (automerge 3.5.0, `A.getBackend(doc)`'s prototype) that the
 * hooks wrap or call; each hook checks the ones it needs at install time (`pinned-hooks.test.ts`) and adds its own
 * marker fields to this type.
 */
export interface AutomergeBackend {
  getHeads: (this: AutomergeBackend) => string[]
  loadIncremental: (this: AutomergeBackend, data: Uint8Array) => unknown
  receiveSyncMessage: (this: AutomergeBackend, ...args: unknown[]) => unknown
  applyAndReturnPatches: (
    this: AutomergeBackend,
    doc: unknown,
    meta?: unknown,
    ...rest: unknown[]
  ) => { value: unknown; patches: unknown[] }
  materialize: (this: AutomergeBackend, obj: string, heads: undefined, meta: unknown) => unknown
  getWithType: (this: AutomergeBackend, obj: string, prop: string) => [string, unknown] | null
  updateDiffCursor: (this: AutomergeBackend) => void
}
