import { createSocket } from 'node:dgram'
import type { networkInterfaces } from 'node:os'
import { describe, expect, it } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { eventually } from '@clinic-mesh/testing'
import { AddressBook, LanDiscovery, isLinkLocalIPv4, lanInterfaces } from '@clinic-mesh/mesh'
import type { LanInterface } from '@clinic-mesh/mesh'
import { decodePacket, encodeAnswer, encodeQuery } from '../src/discovery/packet.js'
import { onLink } from '../src/discovery/interfaces.js'
import { aloneReason } from '../src/discovery-status.js'

const ID = '12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf'

describe('discovery packets (the @libp2p/mdns wire format)', () => {
  it('an answer carries the peer name and every address; a query is recognised by its tag only', () => {
    const addrs = [`/ip4/169.254.3.7/tcp/4100/p2p/${ID}`, `/ip4/10.0.0.2/tcp/4100/p2p/${ID}`]
    expect(decodePacket(encodeAnswer('clinic-x', 'abc123', addrs), 'clinic-x')).toEqual({
      kind: 'answer',
      peerName: 'abc123',
      addresses: addrs,
    })
    expect(decodePacket(encodeAnswer('clinic-x', 'abc123', addrs), 'clinic-y')).toEqual({ kind: 'other' })
    expect(decodePacket(encodeQuery('clinic-x'), 'clinic-x')).toEqual({ kind: 'query' })
    expect(decodePacket(encodeQuery('clinic-x'), 'clinic-y')).toEqual({ kind: 'other' })
    expect(decodePacket(Buffer.from([1, 2, 3]), 'clinic-x')).toEqual({ kind: 'other' })
  })
})

describe('interfaces', () => {
  const wlan: LanInterface = { name: 'wlan0', address: '169.254.3.7', netmask: '255.255.0.0' }
  it('tells which link a source address is on, link-local included', () => {
    expect(onLink(wlan, '169.254.200.1')).toBe(true)
    expect(onLink(wlan, '10.0.0.1')).toBe(false)
    expect(onLink({ name: 'eth0', address: '10.1.2.3', netmask: '255.255.255.0' }, '10.1.2.200')).toBe(true)
    expect(isLinkLocalIPv4('169.254.3.7')).toBe(true)
  })

  it('lists up IPv4 interfaces other than loopback, 169.254/16 kept', () => {
    const read = (): ReturnType<typeof networkInterfaces> => ({
      lo: [
        { address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', internal: true, mac: '', cidr: null },
      ],
      wlan0: [
        {
          address: '169.254.3.7',
          netmask: '255.255.0.0',
          family: 'IPv4',
          internal: false,
          mac: '',
          cidr: null,
        },
        {
          address: 'fe80::1',
          netmask: 'ffff::',
          family: 'IPv6',
          internal: false,
          mac: '',
          cidr: null,
          scopeid: 2,
        },
      ],
    })
    expect(lanInterfaces(read)).toEqual([wlan])
  })
})

describe('address book', () => {
  it('keeps the newest first, one copy each, with the peer id, at most 8, never a wildcard', () => {
    const book = new AddressBook({ [ID]: ['/ip4/10.0.0.2/tcp/1'] })
    expect(
      book.learn(ID, ['/ip4/10.0.0.3/tcp/1', `/ip4/10.0.0.2/tcp/1/p2p/${ID}`, '/ip4/0.0.0.0/tcp/1']),
    ).toBe(true)
    expect(book.get(ID)).toEqual([`/ip4/10.0.0.3/tcp/1/p2p/${ID}`, `/ip4/10.0.0.2/tcp/1/p2p/${ID}`])
    expect(book.learn(ID, ['/ip4/10.0.0.3/tcp/1'])).toBe(false)
    book.learn(
      ID,
      Array.from({ length: 12 }, (_, i) => `/ip4/10.0.1.${i}/tcp/1`),
    )
    expect(book.get(ID)).toHaveLength(8)
  })
})

describe('why alone', () => {
  const link = (address: string | null, ok: boolean) => ({
    name: 'x',
    address,
    ok,
    error: ok ? null : 'EPERM',
  })
  const iface = { name: 'eth0', address: '10.0.0.1', netmask: '255.255.255.0' }
  it('names the first reason that applies', () => {
    const mdns = (interfaces: LanInterface[], links: ReturnType<typeof link>[]) => ({
      interfaces,
      links,
      answeredAt: null,
    })
    expect(aloneReason(1, true, mdns([], []))).toBeNull()
    expect(aloneReason(0, false, mdns([iface], [link('10.0.0.1', true)]))).toBe('mesh-off')
    expect(aloneReason(0, true, mdns([], [link(null, false)]))).toBe('no-interface')
    expect(aloneReason(0, true, mdns([iface], [link(null, false), link('10.0.0.1', false)]))).toBe(
      'multicast-failing',
    )
    // no multicast route (default socket failing) is not a reason: each link has its own socket
    expect(aloneReason(0, true, mdns([iface], [link(null, false), link('10.0.0.1', true)]))).toBe(
      'nothing-answering',
    )
  })
})

it('an interface that comes up later gets a socket on the next tick, and loses it when it goes', async () => {
  const peerId = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  let up: LanInterface[] = []
  const d = new LanDiscovery(
    { peerId, addressManager: { getAddresses: () => [], getListenAddrs: () => [] } },
    { interval: 30, port: 40_000 + Math.floor(Math.random() * 20_000), interfaces: () => up },
  )
  d.start()
  try {
    expect(d.status().links.map((l) => l.name)).toEqual(['default'])
    up = [{ name: 'hotspot0', address: '127.0.0.1', netmask: '255.0.0.0' }]
    await eventually(() => d.status().links.some((l) => l.name === 'hotspot0'), { timeoutMs: 2_000 })
    expect(d.status().interfaces).toEqual(up)
    up = []
    await eventually(() => !d.status().links.some((l) => l.name === 'hotspot0'), { timeoutMs: 2_000 })
  } finally {
    d.stop()
  }
})

it('says multicast is failing when no link can use the mDNS port (taken without sharing)', async () => {
  const peerId = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const squatter = createSocket({ type: 'udp4', reuseAddr: false })
  await new Promise<void>((resolve) => squatter.bind(0, '0.0.0.0', resolve))
  const port = squatter.address().port
  const d = new LanDiscovery(
    { peerId, addressManager: { getAddresses: () => [], getListenAddrs: () => [] } },
    { interval: 30, port, interfaces: () => [{ name: 'eth9', address: '127.0.0.1', netmask: '255.0.0.0' }] },
  )
  d.start()
  try {
    const st = await eventually(
      () => {
        const s = d.status()
        return s.links.length > 0 && s.links.every((l) => l.error !== null) ? s : undefined
      },
      { timeoutMs: 2_000 },
    )
    expect(st.links.find((l) => l.name === 'eth9')?.error).toBe('EADDRINUSE')
    expect(aloneReason(0, true, st)).toBe('multicast-failing')
    // a link still opening is not counted as failing
    const opening = { ...st, links: [{ name: 'eth9', address: '127.0.0.1', ok: false, error: null }] }
    expect(aloneReason(0, true, opening)).toBe('nothing-answering')
  } finally {
    d.stop()
    squatter.close()
  }
})
