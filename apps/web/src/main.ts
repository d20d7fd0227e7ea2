import { mount } from 'svelte'
import App from './App.svelte'
import { registerOfflineShell } from './lib/offline-shell.js'
import './styles.css'

const target = document.getElementById('app')
if (!target) throw new Error('#app is missing from index.html')
export default mount(App, { target })

registerOfflineShell().catch((err: unknown) => {
  // The app works without it (only a reload during an outage fails); say so where support staff look.
  console.warn('offline app shell not available:', err)
})
