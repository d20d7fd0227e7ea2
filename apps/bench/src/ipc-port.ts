import type { ChildProcess } from 'node:child_process'

/** The part of a MessagePort that automerge-repo's MessageChannelNetworkAdapter uses. */
export interface PortLike {
  postMessage(message: unknown): void
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void
  start(): void
}

/** An envelope on the IPC channel: repo traffic, or one bench message (`{ bench: ... }`). */
interface Envelope {
  am?: unknown
  bench?: unknown
}

type Channel = Pick<ChildProcess, 'send' | 'on'> | NodeJS.Process

/**
 * A MessagePort over a child process's IPC channel (spawned with `serialization: 'advanced'`, so sync messages'
 * ArrayBuffers pass as binary): lets a repo in another process join over the same adapter the in-process bench
 * uses. Bench messages share the channel in their own envelope.
 */
export function ipcPort(channel: Channel, onBench?: (message: unknown) => void): PortLike {
  const listeners: ((event: { data: unknown }) => void)[] = []
  channel.on('message', (raw: unknown) => {
    const e = raw as Envelope
    if ('am' in e) for (const l of listeners) l({ data: e.am })
  })
  if (onBench) onBenchMessage(channel, onBench)
  return {
    postMessage: (message) => void channel.send?.({ am: message }),
    addEventListener: (_type, listener) => void listeners.push(listener),
    start: () => undefined,
  }
}

/** Calls `handler` with each bench message (`{ bench: ... }`) arriving on the channel; repo traffic is ignored. */
export function onBenchMessage(channel: Channel, handler: (message: unknown) => void): void {
  channel.on('message', (raw: unknown) => {
    const e = raw as Envelope
    if ('bench' in e) handler(e.bench)
  })
}

/** Sends one bench message; resolves once it is handed to the channel (so the process may exit). */
export function sendBench(channel: Channel, message: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!channel.send) return reject(new Error('no IPC channel'))
    channel.send({ bench: message }, undefined, {}, (err: Error | null) => (err ? reject(err) : resolve()))
  })
}
