import { randomBytes } from 'node:crypto'
import { connect } from 'node:net'
import { cbor } from '@automerge/automerge-repo/slim'
import type { BatchId, ItemId } from '@clinic-mesh/contracts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { DeviceCluster, type DeviceProcess } from './helpers/device-process.js'
import { qty, startRelayWithClinic, type TestDevice, type RelayWithClinic } from './helpers/relay-device.js'
import type { RelayProcess } from './helpers/relay-process.js'
import { httpBase, syncUrlFor } from './helpers/relay-auth.js'

interface Closed {
  code: number
  reason: string
}

/** Opens a WebSocket, sends one message once open, resolves with how the server closed it (deadline 5 s). */
function sendAndClose(
  url: string,
  message: Uint8Array | string,
  headers: Record<string, string> = {},
): Promise<Closed> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers })
    const timer = setTimeout(() => {
      ws.terminate()
      reject(new Error(`${url}: not closed by the server within 5 s`))
    }, 5_000)
    ws.on('open', () => ws.send(message))
    ws.on('error', () => undefined) // the close event follows
    ws.on('close', (code, reason) => {
      clearTimeout(timer)
      resolve({ code, reason: reason.toString() })
    })
  })
}

/**
 * Upgrades by hand, then sends only a frame header announcing a 1 TiB payload: the server must refuse it from the
 * header (ws closes with 1009 "message too big") without waiting for the bytes. Resolves with the close code seen.
 */
function announceHugeFrame(
  port: number,
  headers: Record<string, string> = {},
  path = '/sync',
): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const key = randomBytes(16).toString('base64')
    let buf = Buffer.alloc(0)
    let upgraded = false
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error('no close frame within 5 s'))
    }, 5_000)
    socket.on('connect', () => {
      const extra = Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('')
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
      )
    })
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d])
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n')
        if (end < 0) return
        if (!buf.subarray(0, end).toString().startsWith('HTTP/1.1 101'))
          return reject(new Error(`upgrade refused: ${buf.subarray(0, end).toString()}`))
        upgraded = true
        buf = buf.subarray(end + 4)
        const len = Buffer.alloc(8)
        len.writeBigUInt64BE(2n ** 40n)
        socket.write(Buffer.concat([Buffer.from([0x82, 0x80 | 127]), len, randomBytes(4)]))
      }
      // a close frame: 0x88, length, 2-byte code
      if (buf.length >= 4 && buf[0] === 0x88) {
        clearTimeout(timer)
        resolve(buf.readUInt16BE(2))
        socket.destroy()
      }
    })
    socket.on('close', () => {
      clearTimeout(timer)
      if (!upgraded) reject(new Error('closed before the upgrade'))
    })
  })
}

/** Messages every /sync endpoint must refuse by closing that socket with 1008 and a named reason. */
const HOSTILE: [string, Uint8Array | string][] = [
  ['random bytes', Uint8Array.from({ length: 300 }, (_, i) => (i * 73 + 41) % 256)],
  ['CBOR null', cbor.encode(null)],
  ['CBOR array', cbor.encode(['join', 'x'])],
  ['CBOR number', cbor.encode(42)],
  ['senderId not a string', cbor.encode({ type: 'join', senderId: 7 })],
  [
    'data not bytes',
    cbor.encode({ type: 'sync', senderId: 'p1', targetId: 'x', documentId: 'd', data: 'text' }),
  ],
  ['a text frame', 'hello, sync'],
]

/** `url`: the endpoint, or a function giving a fresh one per socket (the relay's URLs are single-use). */
async function refusesEverything(
  url: string | (() => Promise<string>),
  headers: Record<string, string> = {},
): Promise<void> {
  for (const [what, msg] of HOSTILE) {
    const closed = await sendAndClose(typeof url === 'string' ? url : await url(), msg, headers)
    expect({ what, code: closed.code, named: closed.reason.startsWith('MalformedSyncMessageError') }).toEqual(
      { what, code: 1008, named: true },
    )
  }
}

describe('hostile messages on the device node /sync WebSocket', () => {
  let cluster: DeviceCluster
  let node: DeviceProcess

  beforeAll(async () => {
    cluster = await DeviceCluster.start(['sync-target'])
    node = cluster.devices[0]!
    await node.ready()
  })
  afterAll(async () => {
    await cluster?.stop()
  })

  it('refuses a browser without a session, closes malformed and oversized messages with a named reason, keeps serving', async () => {
    const url = `ws://127.0.0.1:${node.port}/sync`
    const anonymous = await new Promise<number>((resolve) => {
      const ws = new WebSocket(url)
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
      ws.on('error', () => undefined)
    })
    expect(anonymous).toBe(401)

    const auth = { authorization: `Bearer ${await node.token({ name: 'co', role: 'clinician' })}` }
    await refusesEverything(url, auth)
    expect(await announceHugeFrame(node.port, auth)).toBe(1009)

    const p = await node.api(
      'POST',
      '/api/patients',
      { given: 'After', family: 'Sync', birthDate: '1999-09-09', sex: 'male' },
      { as: { name: 'co', role: 'clinician' } },
    )
    expect(p.status).toBe(201)
    expect(node.exited).toBe(false)
    const log = node.stderr.join('\n')
    expect(log).toMatch(
      /"event":"sync-socket-error","error":"RangeError","code":"WS_ERR_UNSUPPORTED_MESSAGE_LENGTH"/,
    )
    expect(log.match(/"event":"sync-message-refused","error":"MalformedSyncMessageError"/g)).toHaveLength(
      HOSTILE.length,
    )
    expect(log.split('\n').filter((l) => /uncaught-exception|unhandled-rejection/.test(l))).toEqual([])
  })
})

describe('hostile messages on the relay /sync WebSocket', () => {
  let env: RelayWithClinic | undefined
  let relay: RelayProcess
  let dev: TestDevice

  beforeAll(async () => {
    env = await startRelayWithClinic('hostile-sync-relay-', 'clinic-s', 'tab-s')
    ;({ relay, dev } = env)
  })
  afterAll(async () => {
    await env?.stop()
  })

  it('closes malformed and oversized messages with a named reason; a real device keeps syncing and settling', async () => {
    // each socket authenticated as the registered device (the relay refuses any other upgrade, see relay-device-auth)
    const fresh = (): Promise<string> => syncUrlFor(httpBase(relay.syncUrl), dev.repo.peerId, dev.key)
    await refusesEverything(fresh)
    const huge = new URL(await fresh())
    expect(await announceHugeFrame(relay.port, {}, huge.pathname + huge.search)).toBe(1009)
    const item = 'itm_x' as ItemId
    dev.append(
      [{ kind: 'formulary-update', item, name: 'X', price: 1, status: 'active', controlled: false }],
      'admin',
    )
    dev.append([
      {
        kind: 'receive',
        item,
        batch: 'X-1' as BatchId,
        expiry: '2099-01-01',
        quantity: 3,
        unitCost: 1,
        supplier: 's',
        grn: 'g',
      },
    ])
    await dev.settled((_d, s) => qty(s, 'X-1') === 3)
    expect(relay.exited).toBe(false)
    const log = relay.stderr.join('\n')
    expect(log).toMatch(
      /"event":"sync-socket-error","error":"RangeError","code":"WS_ERR_UNSUPPORTED_MESSAGE_LENGTH"/,
    )
    expect(log.match(/"event":"sync-message-refused","error":"MalformedSyncMessageError"/g)).toHaveLength(
      HOSTILE.length,
    )
    expect(log.split('\n').filter((l) => /uncaught-exception|unhandled-rejection/.test(l))).toEqual([])
  })
})
