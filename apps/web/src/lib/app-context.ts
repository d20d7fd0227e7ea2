import { getContext, setContext } from 'svelte'
import type { Clinic } from './clinic.svelte.js'
import type { Router } from './router.svelte.js'
import type { Session } from './session.svelte.js'
import type { Stock } from './stock.svelte.js'
import type { SyncStatus } from './status.svelte.js'

/** The app's models, created once in App.svelte and read by screens through context. */
export interface AppContext {
  session: Session
  clinic: Clinic
  status: SyncStatus
  stock: Stock
  router: Router
}

const KEY = Symbol('clinic-mesh')

export function provideApp(ctx: AppContext): void {
  setContext(KEY, ctx)
}

export function useApp(): AppContext {
  const ctx = getContext<AppContext | undefined>(KEY)
  if (!ctx) throw new Error('useApp() outside <App>')
  return ctx
}
