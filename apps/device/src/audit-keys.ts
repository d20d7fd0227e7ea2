import { peerIdFromString } from '@libp2p/peer-id'
import type { Membership } from '@clinic-mesh/mesh'
import { signAuditHead, verifyAuditHead, type AuditHead, type SignedAuditHead } from '@clinic-mesh/security'

type Signed = SignedAuditHead & { signer: string }

/** Signs this device's audit heads with its libp2p Ed25519 key (`signer` names it). */
export function auditHeadSigner(
  device: string,
  peerId: string,
  deviceSeed: Uint8Array,
): (head: AuditHead) => Signed {
  return (head) => ({ ...signAuditHead(device, head, deviceSeed), signer: peerId })
}

/** A chain's signed head verifies with the key of an enrolled device of the clinic (the peer id names the key). */
export function auditHeadVerifier(membership: Membership): (head: Signed) => boolean {
  return (head) => {
    try {
      if (!membership.enrolments().some((e) => e.devicePeerId === head.signer)) return false
      const key = peerIdFromString(head.signer).publicKey
      return key?.type === 'Ed25519' && verifyAuditHead(head, Buffer.from(key.raw).toString('hex'))
    } catch {
      return false
    }
  }
}
