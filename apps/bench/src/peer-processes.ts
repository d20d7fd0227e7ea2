import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { AutomergeUrl } from '@automerge/automerge-repo'
import { privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { Enrolment } from '@clinic-mesh/mesh'
import { onBenchMessage, sendBench } from './ipc-port.js'
import { clinicKeys } from './mesh-cluster.js'

/** The bench document: one counter (P2) and one map of edits per node (P3). */
export interface Board {
  n: number
  by: string
  edits: { [node: string]: { [i: string]: number } }
}

/** What a peer process needs to become tablet `index` of the bench clinic (keys as protobuf bytes). */
export interface PeerInit {
  index: number
  key: Uint8Array
  adminPublicKey: Uint8Array
  clinicSecret: Uint8Array
  enrolments: Enrolment[]
  bootstrap: string[]
}

/** One request to a peer process; each is answered once, with a value or an error. */
export type PeerOp =
  | { do: 'start'; init: PeerInit } // → its multiaddrs
  | { do: 'connected'; count: number } // → once it has `count` sync sessions
  | { do: 'create' } // → the URL of a new Board
  | { do: 'find'; url: AutomergeUrl }
  | { do: 'addMap'; maps: number } // adds its own map, → once the doc has `maps` maps
  | { do: 'offline' }
  | { do: 'edit'; count: number } // `count` changes to its own map, → A.save of its replica
  | { do: 'heal'; maps: number; perMap: number } // back online, → a HealReport once the doc holds maps × perMap keys
  | { do: 'stop' }

/** A node's own account of its heal, on its own clock: when its first peer was back, and the CPU it spent. */
export interface HealReport {
  firstPeerMs: number
  cpuMs: number
}

export interface PeerRequest {
  id: number
  op: PeerOp
}

export interface PeerReply {
  id: number
  value?: unknown
  error?: string
}

/** A mesh node in its own OS process (mesh-peer-child.ts), driven over IPC. */
export interface PeerProcess {
  call<T = unknown>(op: PeerOp): Promise<T>
  readonly child: ChildProcess
}

function spawnPeer(): PeerProcess {
  const file = fileURLToPath(new URL('./mesh-peer-child.js', import.meta.url))
  const child = spawn(process.execPath, [file], {
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    serialization: 'advanced',
  })
  let err = ''
  child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)))
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  let next = 0
  onBenchMessage(child, (m) => {
    const r = m as PeerReply
    const p = pending.get(r.id)
    pending.delete(r.id)
    if (r.error !== undefined) p?.reject(new Error(`peer process: ${r.error}`))
    else p?.resolve(r.value)
  })
  child.on('exit', (code) => {
    for (const p of pending.values()) p.reject(new Error(`peer process exited ${code}: ${err.slice(-400)}`))
    pending.clear()
  })
  return {
    child,
    call<T>(op: PeerOp): Promise<T> {
      const id = next++
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
        sendBench(child, { id, op } satisfies PeerRequest).catch(reject)
      })
    },
  }
}

/**
 * n tablets of one clinic, one OS process each (as a clinic's tablets are separate machines), fully meshed over
 * loopback TCP. This process plays the admin: it makes the keys and enrolments and hands each tablet its own.
 */
export async function startPeerProcesses(
  n: number,
): Promise<{ peers: PeerProcess[]; stop(): Promise<void> }> {
  const clinic = await clinicKeys(n)
  const peers = Array.from({ length: n }, spawnPeer)
  const stop = async (): Promise<void> => {
    const running = peers.filter((p) => p.child.exitCode === null && p.child.signalCode === null)
    await Promise.all(
      running.map(
        (p) =>
          new Promise<void>((resolve) => {
            const kill = setTimeout(() => p.child.kill(), 5000)
            p.child.once('exit', () => (clearTimeout(kill), resolve()))
            p.call({ do: 'stop' }).catch(() => p.child.kill())
          }),
      ),
    )
  }
  try {
    const addrs: string[] = []
    for (const [index, p] of peers.entries()) {
      const { adminPublicKey, clinicSecret, enrolments } = clinic
      const key = privateKeyToProtobuf(clinic.keys[index]!)
      addrs.push(
        ...(await p.call<string[]>({
          do: 'start',
          init: { index, key, adminPublicKey, clinicSecret, enrolments, bootstrap: [...addrs] },
        })),
      )
    }
    await Promise.all(peers.map((p) => p.call({ do: 'connected', count: n - 1 })))
  } catch (e) {
    await stop()
    throw e
  }
  return { peers, stop }
}
