import { mount } from 'svelte'
import ReviewConsole from './ReviewConsole.svelte'
import '../styles.css'
import './review.css'

// The reviewer console: served by the relay at `/`, talks only to the relay's JSON API (docs/relay-api.md).
const target = document.getElementById('app')
if (!target) throw new Error('#app is missing from review.html')
export default mount(ReviewConsole, { target })
