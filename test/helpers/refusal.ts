import type { DocHandle } from '@automerge/automerge-repo'

/** What a device node sends a stock client whose change it refused (an ephemeral message on the document). */
export interface Refusal {
  type: string
  name: string
  message: string
  writes: { path: string; value?: unknown }[]
}

/** The node's refusal of a change on this handle (an ephemeral message), awaited as an event. */
export function refusalOn(h: DocHandle<unknown>): Promise<Refusal> {
  return new Promise((resolve) => {
    h.on('ephemeral-message', ({ message }) => {
      const m = message as Refusal
      if (m?.type === 'clinic-mesh/refused') resolve(m)
    })
  })
}
