import * as A from '@automerge/automerge'
import { Repo } from '@automerge/automerge-repo'
import type {
  BatchId,
  DeviceId,
  ItemId,
  LocationId,
  PatientId,
  PrescriptionId,
  Role,
  SettledInventoryDoc,
  UserId,
} from '@clinic-mesh/contracts'
import { DeviceLog, newRelaySecret, relayPublicKeyOf, verifySettledInventory } from '@clinic-mesh/ledger'
import { AccessMap, ClinicSettlement, FileSettlementStore, SettlementPublisher } from '@clinic-mesh/relay'
import { tempDir } from '@clinic-mesh/testing'
import { describe, expect, it } from 'vitest'

// The settled inventory's `state` (the inventory as JSON, a text in the Automerge document) changes in a few places per
// round: the relay edits those characters. Writing the text anew every round made each round as many operations as
// the inventory has characters, for the settler, every other instance and every device that merges it (bench P12
// profile), and the document's history grew by the whole inventory per round.

describe('settled inventory publishing', () => {
  it('edits the state text where it changed, and the document still verifies', async () => {
    const dir = await tempDir('relay-inventory-text-')
    const repo = new Repo({})
    try {
      const s = await ClinicSettlement.open('clinic-t', new FileSettlementStore(dir.path), 0)
      const secretKey = newRelaySecret()
      const key = { publicKey: relayPublicKeyOf(secretKey), secretKey }
      const state = { fencedDocuments: false, markFenced: () => {}, loadChunks: () => Promise.resolve([]) }
      const pub = await SettlementPublisher.open(
        repo,
        s,
        new AccessMap(),
        key,
        new AbortController().signal,
        state,
      )
      const log = new DeviceLog({
        device: 'tab-1' as DeviceId,
        session: { user: 'u1' as UserId, role: 'pharmacist', site: 'site-a' as LocationId },
      })
      const item = 'amoxicillin-250' as ItemId
      const as = (role: Role, body: Parameters<DeviceLog['append']>[0]) => {
        log.setSession({ ...log.session, role })
        return log.append(body)
      }
      const ops = [
        as('admin', {
          kind: 'formulary-update',
          item,
          name: 'Amoxicillin',
          price: 5,
          status: 'active',
          controlled: false,
        }),
        as('pharmacist', {
          kind: 'receive',
          item,
          batch: 'A1' as BatchId,
          expiry: '2099-12-31',
          quantity: 1000,
          unitCost: 2,
          supplier: 'S',
          grn: 'G1',
        }),
      ]
      s.ingestLog('log-1', 'tab-1', ops)
      s.settleNow()
      ops.push(
        log.append({
          kind: 'dispense',
          item,
          batch: 'A1' as BatchId,
          quantity: 1,
          patient: 'pt_1' as PatientId,
          prescription: 'rx_1' as PrescriptionId,
          prescriptionHash: 'h1',
          priceSeen: 5,
          stockSeen: 1000,
        }),
      )
      s.ingestLog('log-1', 'tab-1', ops)
      s.settleNow()
      const doc = pub.inventory.doc()
      expect(JSON.parse(doc.state)).toEqual(JSON.parse(JSON.stringify(s.engine.inventory())))
      expect(doc.decidedOps).toBe(3)
      const last = A.decodeChange(A.getLastLocalChange(doc)!)
      // the round changed a few numbers in the JSON, the time and the signature: edited in place, the whole change is
      // smaller than the inventory's text (written anew, it was that text again and more)
      expect(doc.state.length).toBeGreaterThan(150)
      expect(last.ops.length).toBeLessThan(doc.state.length)
      expect(
        verifySettledInventory(JSON.parse(JSON.stringify(doc)) as SettledInventoryDoc, {
          relayKey: key.publicKey,
          clinic: 'clinic-t',
        }).ok,
      ).toBe(true)
      await s.close()
    } finally {
      await repo.shutdown()
      await dir.remove()
    }
  })
})
