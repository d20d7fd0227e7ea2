/**
 * `@clinic-mesh/testing/netns`: network namespaces on real links, for the no-router tests and the P10 bench. A
 * subpath of its own so a process that only needs namespaces does not load vitest (the package index does).
 */
export { NetnsLab } from './netns-lab.js'
export { NetnsUnavailableError } from './errors.js'
export { LinkProxy } from './link-proxy.js'
export type { LinkProxyInit, LinkBytes } from './link-proxy.js'
