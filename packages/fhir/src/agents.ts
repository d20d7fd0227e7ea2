import type { Device, Practitioner } from '@medplum/fhirtypes'
import { fhirId, ourIdentifier } from './ids.js'

/** A clinic user as a Practitioner: the id and, when the caller knows it (the user register), the name and role. */
export function toPractitioner(user: string, info: { name?: string; role?: string } = {}): Practitioner {
  const out: Practitioner = {
    resourceType: 'Practitioner',
    id: fhirId(user),
    identifier: [ourIdentifier('user', user)],
    active: true,
  }
  if (info.name) out.name = [{ text: info.name }]
  if (info.role) out.qualification = [{ code: { text: info.role } }]
  return out
}

/** A clinic device (tablet node) as a Device: our device id, its libp2p peer id when known, its name. */
export function toDevice(device: string, info: { name?: string; peerId?: string } = {}): Device {
  const out: Device = {
    resourceType: 'Device',
    id: fhirId(device),
    identifier: [ourIdentifier('device', device)],
    status: 'active',
  }
  if (info.peerId) out.identifier?.push(ourIdentifier('peer', info.peerId))
  if (info.name) out.deviceName = [{ name: info.name, type: 'user-friendly-name' }]
  return out
}
