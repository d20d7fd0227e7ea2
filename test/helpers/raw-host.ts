import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { clinicNetworkKey, clinicPrivateNetwork } from '@clinic-mesh/mesh'

/** A bare libp2p host speaking TCP + private network + noise + yamux: the attacker's tool (no gater, no sync protocol). */
export function rawHost(secret: Uint8Array, key: PrivateKey): Promise<Libp2p> {
  return createLibp2p({
    privateKey: key,
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionProtector: clinicPrivateNetwork(clinicNetworkKey(secret)),
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
  })
}
