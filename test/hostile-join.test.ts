import { readFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceCluster, type DeviceProcess } from './helpers/device-process.js'

type Err = { error?: { name: string; message: string } }

/**
 * The one-time join endpoint an admin device opens on the LAN while a join code lives (apps/device/src/join-flow.ts):
 * anyone on the Wi-Fi can reach it. Hostile bodies get named 4xx, nothing secret leaks in any answer, the node lives.
 */
describe('hostile input to the join endpoint of a real admin device', () => {
  let cluster: DeviceCluster
  let node: DeviceProcess
  let url: string
  let secrets: string[]
  const NAMES = new Set(['MalformedJsonError', 'InvalidInputError', 'PayloadTooLargeError', 'JoinError'])

  beforeAll(async () => {
    cluster = await DeviceCluster.start(['admin-device'])
    node = cluster.devices[0]!
    await node.ready()
    const clinic = JSON.parse(await readFile(node.init.clinicFile ?? '', 'utf8')) as {
      clinicSecret: string
      adminSecretKey: string
    }
    secrets = [clinic.clinicSecret, clinic.adminSecretKey]
  })
  afterAll(async () => {
    await cluster?.stop()
  })

  it('answers random and malformed join messages with named 4xx, leaks no secret, keeps the node serving', async () => {
    const offer = await node.api<{ code: string; url: string }>('POST', '/api/join-codes', undefined, {
      as: { name: 'admin', role: 'admin' },
    })
    expect(offer.status).toBe(201)
    url = offer.body.url.replace('0.0.0.0', '127.0.0.1')
    const bodies: [string, string | Uint8Array][] = [
      ['random bytes', Uint8Array.from({ length: 200 }, (_, i) => (i * 151 + 7) % 256)],
      ['empty', ''],
      ['array', '[1,2,3]'],
      ['sid of a wrong type', JSON.stringify({ sid: 5, y: 'ab' })],
      ['sid not hex', JSON.stringify({ sid: 'zz', y: 'ab' })],
      ['y not a curve point', JSON.stringify({ sid: 'ab'.repeat(16), y: '00'.repeat(32) })],
      [
        'welcome for an unknown session',
        JSON.stringify({ sid: 'cd'.repeat(16), confirm: 'ab'.repeat(32), sealed: 'ef'.repeat(64) }),
      ],
      ['huge hex', JSON.stringify({ sid: 'ab'.repeat(5000), y: 'ab' })],
      ['3 MiB', new Uint8Array(3 * 1024 * 1024).fill(0x20)],
    ]
    const bad: string[] = []
    const seen = new Map<string, number>()
    for (const path of ['/join/offer', '/join/welcome']) {
      for (const [what, body] of bodies) {
        const res = await fetch(`${url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        })
        const text = await res.text()
        const name = (JSON.parse(text) as Err).error?.name ?? `(no error, ${res.status})`
        seen.set(name, (seen.get(name) ?? 0) + 1)
        if (!(res.status >= 400 && res.status < 500 && NAMES.has(name)))
          bad.push(`${path} ${what}: ${res.status} ${name}`)
        for (const s of secrets)
          if (text.includes(s)) bad.push(`${path} ${what}: a clinic secret in the answer`)
      }
    }
    console.warn('join endpoint: hostile bodies answered', Object.fromEntries(seen))
    expect(bad).toEqual([])
    expect((await node.api('GET', '/api/status')).status).toBe(200)
    expect(node.exited).toBe(false)
    expect(node.stderr.filter((l) => /uncaught-exception|unhandled-rejection/.test(l))).toEqual([])
  })
})
