import { createServer, connect, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { afterEach, expect, it } from 'vitest'
import { LinkProxy } from '@clinic-mesh/testing/netns'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn()
})

async function echoServer(): Promise<number> {
  const server: Server = createServer((s) => {
    s.on('error', () => undefined)
    s.pipe(s)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())))
  return (server.address() as AddressInfo).port
}

async function dial(proxy: LinkProxy): Promise<Socket> {
  const s = connect(proxy.port, '127.0.0.1')
  await new Promise<void>((resolve, reject) => {
    s.once('connect', resolve)
    s.once('error', reject)
  })
  cleanups.push(() => Promise.resolve(void s.destroy()))
  return s
}

/** Sends `bytes` and resolves with the ms until as many bytes came back. */
function roundTrip(s: Socket, bytes: number): Promise<number> {
  const t0 = performance.now()
  let got = 0
  return new Promise((resolve) => {
    const on = (d: Buffer): void => {
      got += d.byteLength
      if (got >= bytes) {
        s.off('data', on)
        resolve(performance.now() - t0)
      }
    }
    s.on('data', on)
    s.write(Buffer.alloc(bytes, 1))
  })
}

it('delays each direction, counts what it forwards, and keeps order', async () => {
  const proxy = await LinkProxy.start({
    target: { host: '127.0.0.1', port: await echoServer() },
    delayMs: 100,
  })
  cleanups.push(() => proxy.close())
  const s = await dial(proxy)
  const ms = await roundTrip(s, 200_000)
  expect(ms).toBeGreaterThanOrEqual(195) // 100 ms out, 100 ms back
  expect(proxy.bytes).toEqual({ up: 200_000, down: 200_000 })
  const order: number[] = []
  s.on('data', (d: Buffer) => order.push(...d))
  for (let i = 0; i < 50; i++) s.write(Uint8Array.of(i))
  await new Promise<void>((r) => {
    const t = setInterval(() => order.length >= 50 && (clearInterval(t), r()), 10)
  })
  expect(order).toEqual(Array.from({ length: 50 }, (_, i) => i))
})

it('a cut resets open connections and refuses new ones until restored', async () => {
  const proxy = await LinkProxy.start({ target: { host: '127.0.0.1', port: await echoServer() } })
  cleanups.push(() => proxy.close())
  const s = await dial(proxy)
  await roundTrip(s, 10)
  const closed = new Promise<boolean>((r) => s.once('close', (hadError) => r(hadError)))
  s.on('error', () => undefined)
  proxy.cut()
  expect(await closed).toBe(true) // a reset, not a graceful end
  const refused = connect(proxy.port, '127.0.0.1')
  const outcome = await new Promise<string>((r) => {
    refused.once('error', (e: NodeJS.ErrnoException) => r(e.code ?? 'error'))
    refused.once('data', () => r('data'))
    refused.once('close', () => r('closed'))
  })
  expect(['ECONNRESET', 'closed']).toContain(outcome)
  expect(proxy.refused).toBe(1)
  proxy.restore()
  const again = await dial(proxy)
  expect(await roundTrip(again, 1000)).toBeGreaterThan(0)
  expect(proxy.connections).toBe(2)
})
