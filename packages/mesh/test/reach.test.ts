import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { bytesToHex } from '@noble/hashes/utils.js'
import { describe, expect, it } from 'vitest'
import { AddressBook, reachSigningBytes, signReach, verifyReach } from '../src/index.js'

const CLINIC = 'clinic-reach-test'

describe('reach records (where a device listens, signed by the device)', () => {
  it('a device’s own record verifies, with /p2p/<its id> on every address', async () => {
    const key = await generateKeyPair('Ed25519')
    const id = peerIdFromPrivateKey(key).toString()
    const r = await signReach({ clinic: CLINIC, addrs: ['/ip4/10.0.0.2/tcp/4001'] }, key)
    expect(r.devicePeerId).toBe(id)
    expect(r.addrs).toEqual([`/ip4/10.0.0.2/tcp/4001/p2p/${id}`])
    expect(await verifyReach(JSON.parse(JSON.stringify(r)), CLINIC)).toEqual(r)
  })

  it('forged, altered or foreign records are ignored', async () => {
    const [key, other] = await Promise.all([generateKeyPair('Ed25519'), generateKeyPair('Ed25519')])
    const victim = peerIdFromPrivateKey(key).toString()
    const good = await signReach({ clinic: CLINIC, addrs: ['/ip4/10.0.0.2/tcp/4001'] }, key)
    // addresses moved to an attacker's host after signing
    expect(await verifyReach({ ...good, addrs: [`/ip4/10.6.6.6/tcp/4001/p2p/${victim}`] }, CLINIC)).toBeNull()
    // another member signs a record naming the victim: the signature is not the victim's key
    const unsigned = { clinic: CLINIC, devicePeerId: victim, addrs: good.addrs, at: good.at }
    const forged = { ...unsigned, signature: bytesToHex(await other.sign(reachSigningBytes(unsigned))) }
    expect(await verifyReach(forged, CLINIC)).toBeNull()
    // a device claiming an address of another device
    const mine = await signReach(
      { clinic: CLINIC, addrs: [`/ip4/10.0.0.9/tcp/4001/p2p/${peerIdFromPrivateKey(other).toString()}`] },
      key,
    )
    expect(await verifyReach(mine, CLINIC)).toBeNull()
    // another clinic's record, malformed shapes, too many addresses
    expect(await verifyReach(good, 'another-clinic')).toBeNull()
    expect(await verifyReach({ ...good, signature: 'zz' }, CLINIC)).toBeNull()
    expect(await verifyReach({ ...good, devicePeerId: 'not-a-peer-id' }, CLINIC)).toBeNull()
    expect(await verifyReach(null, CLINIC)).toBeNull()
    const many = Array.from({ length: 9 }, (_, i) => `/ip4/10.0.0.${i}/tcp/4001`)
    expect(await verifyReach(await signReach({ clinic: CLINIC, addrs: many }, key), CLINIC)).toBeNull()
  })

  it('a claimed address ranks after the addresses this device reached the peer on', () => {
    const book = new AddressBook()
    const peer = '12D3KooWReachPeer'
    book.learn(peer, ['/ip4/10.0.0.2/tcp/4001'])
    expect(book.suggest(peer, ['/ip4/10.0.0.3/tcp/4001', '/ip4/10.0.0.2/tcp/4001'])).toBe(true)
    expect(book.get(peer)).toEqual([
      `/ip4/10.0.0.2/tcp/4001/p2p/${peer}`,
      `/ip4/10.0.0.3/tcp/4001/p2p/${peer}`,
    ])
    expect(book.suggest(peer, ['/ip4/10.0.0.3/tcp/4001'])).toBe(false)
  })
})
