import { ImmutableString } from '@automerge/automerge'
import { recordAllergy, userOf, type Chart } from '@clinic-mesh/records'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DeviceCluster, pollDevice, type DeviceProcess } from './helpers/device-process.js'
import { SyncClient } from './helpers/sync-client.js'

/**
 * Actors recorded packed (collection schema 3: `recordedBy` is one scalar `user device`): what a browser writes as the
 * author of a record over `/sync` is checked at the device node like every other field (no document trusts its
 * writer). A forged author — another user's name, packed or in the `{user, device}` map of schema 2, a malformed value,
 * a map over a packed actor — is refused;
 * the signed-in user's own packed name lands. Each refused case is a stock automerge-repo client holding a session.
 */
const nurse = { name: 'Grace Phiri', role: 'nurse' }
const clerk = { name: 'Desk Clerk', role: 'registration' }
const actor = (user: string) => ({ user: user as never, device: 'dev_web_tab' as never })

interface Refusal {
  type: string
  name: string
  message: string
}

describe('actors a browser records over /sync: checked at the device node', () => {
  let cluster: DeviceCluster
  let node: DeviceProcess
  let pid = ''
  const clients: SyncClient[] = []

  const allergiesOnNode = async (): Promise<Chart['patient']['allergies']> =>
    (await node.api<{ chart: Chart }>('GET', `/api/patients/${pid}`, undefined, { as: nurse })).body.chart
      .patient.allergies

  /**
   * The node's answer to a fresh nurse tab's change adding an allergy to `substance`: its refusal (an ephemeral
   * message), or `landed` once the allergy is on the node (what an unchecked gate does).
   */
  async function answerTo(substance: string, fn: (chart: Chart) => void): Promise<Refusal> {
    const tab = await SyncClient.open(node, nurse, `web-actor-${clients.length}-${Date.now()}`)
    clients.push(tab)
    await pollDevice(async () => (await tab.chart(pid)) !== undefined, 'the chart on the nurse tab')
    const handle = await tab.store.bucketFor(pid)
    const refused = new Promise<Refusal>((resolve) => {
      handle.on('ephemeral-message', ({ message }) => {
        const m = message as Refusal
        if (m?.type === 'clinic-mesh/refused') resolve(m)
      })
    })
    await tab.change(pid, fn)
    const landed = pollDevice(async () => {
      const all = Object.values(await allergiesOnNode())
      return all.some((a) => String(a.substance) === substance) || undefined
    }, `${substance} on the node or refused`).then(
      (): Refusal => ({ type: 'landed', name: 'landed on the node', message: '' }),
      (): Refusal => ({ type: 'silent', name: 'neither refused nor landed', message: '' }),
    )
    return Promise.race([refused, landed])
  }

  beforeAll(async () => {
    cluster = await DeviceCluster.start(['desk'], { env: { CLINIC_MESH_LOGIN_DELAY_MS: '0' } })
    node = cluster.devices[0]!
    await node.ready(60_000)
    const made = await node.api<{ id: string }>(
      'POST',
      '/api/patients',
      { given: 'Esther', family: 'Mbewe', birthDate: '1979-09-14', sex: 'female' },
      { as: clerk },
    )
    expect(made.status).toBe(201)
    pid = made.body.id
  }, 120_000)

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()))
    await cluster?.stop()
  })

  it("lands the signed-in user's own packed name; refuses another user's (either form) and malformed ones", async () => {
    const allergy =
      (substance: string, as = actor('usr_grace-phiri')) =>
      (c: Chart) =>
        void recordAllergy(c, { substance, severity: 'mild' }, as)
    const forged = (substance: string, by: unknown) => (c: Chart) => {
      const id = recordAllergy(c, { substance, severity: 'mild' }, actor('usr_grace-phiri'))
      ;(c.patient.allergies[id] as { recordedBy: unknown }).recordedBy = by
    }
    /** An allergy written as a page of schema 2 wrote it: its author a `{user, device}` map. */
    const schema2 = (substance: string, user: string) => (c: Chart) => {
      ;(c.patient.allergies as Record<string, unknown>)[`al_${substance}`] = {
        substance: new ImmutableString(substance),
        severity: new ImmutableString('mild'),
        recordedBy: { user: new ImmutableString(user), device: new ImmutableString('dev_old_page') },
        recordedAt: new ImmutableString(new Date().toISOString()),
      }
    }
    const cases: [string, string, (c: Chart) => void, RegExp][] = [
      [
        'another user, schema 2 map',
        'nickel',
        schema2('nickel', 'usr_dr-mwale'),
        /recordedBy.user names usr_dr-mwale/,
      ],
      [
        'another user, packed',
        'latex',
        allergy('latex', actor('usr_dr-mwale')),
        /names usr_dr-mwale, not the signed-in user/,
      ],
      [
        'no device',
        'sulfa',
        forged('sulfa', new ImmutableString('usr_grace-phiri')),
        /is not an actor 'user device'/,
      ],
      [
        'a third part',
        'iodine',
        forged('iodine', new ImmutableString('usr_grace-phiri dev_x usr_admin')),
        /is not an actor/,
      ],
      [
        'a map over the packed actor',
        'aspirin',
        forged('aspirin', {
          user: new ImmutableString('usr_grace-phiri'),
          device: new ImmutableString('dev_x'),
        }),
        /is not an actor 'user device'/,
      ],
    ]
    for (const [what, substance, fn, why] of cases) {
      const r = await answerTo(substance, fn)
      expect([what, r.name]).toEqual([what, 'ForbiddenWriteError'])
      expect(r.message).toMatch(why)
    }
    // the nurse's own allergy lands, its author packed; none of the refused ones reached the node
    const own = await SyncClient.open(node, nurse, `web-actor-own-${Date.now()}`)
    clients.push(own)
    await pollDevice(async () => (await own.chart(pid)) !== undefined, 'the chart on the nurse tab')
    await own.change(pid, allergy('penicillin'))
    const landed = await pollDevice(async () => {
      const all = Object.values(await allergiesOnNode())
      return all.length > 0 ? all : undefined
    }, 'the allergy on the node')
    expect(landed.map((a) => [String(a.substance), userOf(a.recordedBy)])).toEqual([
      ['penicillin', 'usr_grace-phiri'],
    ])
  }, 180_000)
})
