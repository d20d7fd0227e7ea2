import { randomBytes } from 'node:crypto'
import { byteStream, multiaddrConnectionPair } from '@libp2p/utils'
import type { MessageStream } from '@libp2p/interface'
import { describe, expect, it } from 'vitest'
import { clinicNetworkKey, clinicPrivateNetwork, SALT_BYTES } from '@clinic-mesh/mesh'

const text = (b: Uint8Array): string => Buffer.from(b).toString('latin1')

/** Collects what arrives on a stream, as one string. */
function collect(stream: MessageStream): { text: () => string } {
  const parts: string[] = []
  stream.addEventListener('message', (evt) => parts.push(text(evt.data.subarray())))
  return { text: () => parts.join('') }
}

async function protectedPair(keyA: Uint8Array, keyB: Uint8Array) {
  const [rawA, rawB] = multiaddrConnectionPair()
  const [a, b] = await Promise.all([
    clinicPrivateNetwork(keyA)().protect(rawA),
    clinicPrivateNetwork(keyB)().protect(rawB),
  ])
  const wire = collect(rawB) // what travels from A to B after the salts, as an eavesdropper on the link sees it
  return { a, b, wire }
}

const message = 'Patient MW100001: amoxicillin 500 mg, three times a day'

describe('clinic private network (connection protector)', () => {
  it('members read each other; the link itself never carries the plaintext', async () => {
    const key = clinicNetworkKey(randomBytes(32))
    const { a, b, wire } = await protectedPair(key, key)
    const got = collect(b)
    a.send(new TextEncoder().encode(message))
    await expect.poll(() => got.text()).toBe(message)
    expect(wire.text().length).toBe(message.length)
    expect(wire.text()).not.toContain('MW100001')
  })

  it('a device holding another clinic key reads only noise', async () => {
    const { a, b } = await protectedPair(clinicNetworkKey(randomBytes(32)), clinicNetworkKey(randomBytes(32)))
    const got = collect(b)
    a.send(new TextEncoder().encode(message))
    await expect.poll(() => got.text().length).toBe(message.length)
    expect(got.text()).not.toBe(message)
    expect(got.text()).not.toContain('MW100001')
  })

  it('refuses a peer that reflects our salt back, with a named error', async () => {
    const [rawA, rawB] = multiaddrConnectionPair()
    const mirror = byteStream(rawB)
    const protecting = clinicPrivateNetwork(clinicNetworkKey(randomBytes(32)))().protect(rawA)
    await mirror.write(await mirror.read({ bytes: SALT_BYTES }))
    await expect(protecting).rejects.toMatchObject({ name: 'PrivateNetworkError' })
  })

  it('rejects a key that is not 32 bytes', () => {
    expect(() => clinicPrivateNetwork(new Uint8Array(16))).toThrow(RangeError)
  })
})
