import * as dnsPacket from 'dns-packet'
import type { Answer, Packet, TxtAnswer } from 'dns-packet'
import { MAX_ANNOUNCED_ADDRESSES } from './constants.js'

/**
 * Pure codec of the discovery packets, the wire format of @libp2p/mdns (libp2p mDNS spec): a PTR query for the
 * service tag; an answer with a PTR to `<peer name>.<tag>` and one TXT `dnsaddr=<multiaddr with /p2p/id>` per
 * address.
 */
export function encodeQuery(serviceTag: string): Buffer {
  return dnsPacket.encode({ type: 'query', id: 0, questions: [{ name: serviceTag, type: 'PTR' }] })
}

export function encodeAnswer(serviceTag: string, peerName: string, addresses: string[]): Buffer {
  const answers: Answer[] = [
    { name: serviceTag, type: 'PTR', class: 'IN', ttl: 120, data: `${peerName}.${serviceTag}` },
  ]
  for (const a of addresses.slice(0, MAX_ANNOUNCED_ADDRESSES)) {
    const data = `dnsaddr=${a}`
    if (data.length <= 255)
      answers.push({ name: `${peerName}.${serviceTag}`, type: 'TXT', class: 'IN', ttl: 120, data })
  }
  return dnsPacket.encode({ type: 'response', id: 0, flags: dnsPacket.AUTHORITATIVE_ANSWER, answers })
}

export type Decoded =
  { kind: 'query' } | { kind: 'answer'; peerName: string; addresses: string[] } | { kind: 'other' }

/** Decodes a packet seen on the mDNS port; anything not about `serviceTag` is `other`. Never throws. */
export function decodePacket(bytes: Buffer, serviceTag: string): Decoded {
  let p: Packet
  try {
    p = dnsPacket.decode(bytes)
  } catch {
    return { kind: 'other' }
  }
  if (p.type === 'query')
    return p.questions?.some((q) => q.name === serviceTag) === true ? { kind: 'query' } : { kind: 'other' }
  const records = [...(p.answers ?? []), ...(p.additionals ?? [])]
  const ptr = records.find((r) => r.type === 'PTR' && r.name === serviceTag)
  if (ptr?.type !== 'PTR') return { kind: 'other' }
  const addresses = records
    .filter((r): r is TxtAnswer => r.type === 'TXT')
    .flatMap((r) => (Array.isArray(r.data) ? r.data : [r.data]))
    .map((d) => d.toString())
    .filter((d) => d.startsWith('dnsaddr='))
    .map((d) => d.slice('dnsaddr='.length))
  return { kind: 'answer', peerName: ptr.data.split('.')[0] ?? '', addresses }
}
