/**
 * `@clinic-mesh/testing/netns`: network namespaces on real links, for the no-router tests and the P10 bench. A
 * subpath of its own so a process that only needs namespaces does not load vitest (the package index does).
 */
export { NetnsLab } from './netns-lab.js'
export { NetnsUnavailableError } from './errors.js'
