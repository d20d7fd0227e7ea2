import { describe, expect, it } from 'vitest'
import { RelayRedirectError, redirectIndex } from '../src/relay-redirect.js'
import { relayUrls } from '../src/relay-url.js'

// A relay instance may answer /sync with a redirect to its clinic's settler. The device follows it only to an
// instance of its own list: a forged or stale answer must not send the clinic's documents anywhere else.

const LIST = relayUrls('wss://relay1.example:8443,wss://relay2.example:8443,ws://127.0.0.1:4003')

describe('redirectIndex', () => {
  it('finds the instance of the device’s own list a redirect names', () => {
    expect(redirectIndex('wss://relay2.example:8443/sync', LIST)).toBe(1)
    expect(redirectIndex('wss://RELAY1.example:8443/sync/', LIST)).toBe(0)
    expect(redirectIndex('https://relay2.example:8443', LIST)).toBe(1)
    expect(redirectIndex('ws://127.0.0.1:4003/sync', LIST)).toBe(2)
  })

  it('refuses any other URL with RelayRedirectError', () => {
    const refused = [
      'wss://relay2.example.evil.net:8443/sync', // another host
      'wss://relay2.example:9443/sync', // another port
      'ws://relay2.example:8443/sync', // TLS dropped
      'wss://relay2.example:8443/elsewhere/sync', // another path
      'wss://user@relay3.example/sync',
      '/sync', // not a URL
      'not a url',
    ]
    for (const url of refused) {
      expect(() => redirectIndex(url, LIST), url).toThrow(RelayRedirectError)
      try {
        redirectIndex(url, LIST)
      } catch (err) {
        expect((err as Error).name).toBe('RelayRedirectError')
      }
    }
  })
})
