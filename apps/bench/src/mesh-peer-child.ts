/**
 * One tablet of the P3 bench in its own OS process: a real MeshNode (pnet + noise + yamux over loopback TCP, no
 * mDNS) and an automerge-repo Repo, driven by the parent over IPC (see peer-processes.ts for the requests).
 */
import * as A from '@automerge/automerge'
import { Repo, type DocHandle, type PeerId } from '@automerge/automerge-repo'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { createMeshNode, type MeshNode } from '@clinic-mesh/mesh'
import { onBenchMessage, sendBench } from './ipc-port.js'
import { connectedTo, meshInit } from './mesh-cluster.js'
import type { Board, HealReport, PeerOp, PeerReply, PeerRequest } from './peer-processes.js'

const DEADLINE_MS = 60_000

let node: MeshNode | undefined
let repo: Repo | undefined
let handle: DocHandle<Board> | undefined
let me = ''

/** Resolves once `test` holds for the doc, checked now and on every change; rejects after DEADLINE_MS. */
function until(h: DocHandle<Board>, what: string, test: (d: Board) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      h.off('change', check)
      reject(new Error(`${me}: no ${what} after ${DEADLINE_MS} ms`))
    }, DEADLINE_MS)
    function check(): void {
      if (!test(h.doc())) return
      clearTimeout(timer)
      h.off('change', check)
      resolve()
    }
    h.on('change', check)
    check()
  })
}

function need<T>(x: T | undefined, what: string): T {
  if (x === undefined) throw new Error(`${me || 'peer'}: ${what} before it exists`)
  return x
}

async function run(op: PeerOp): Promise<unknown> {
  switch (op.do) {
    case 'start': {
      const i = op.init
      me = `tablet-${i.index}`
      const key = privateKeyFromProtobuf(i.key)
      node = await createMeshNode(meshInit(i, i.index, key, i.bootstrap))
      repo = new Repo({
        network: [node.adapter],
        peerId: me as PeerId,
        sharePolicy: () => Promise.resolve(true),
      })
      return node.multiaddrs()
    }
    case 'connected':
      return connectedTo(need(node, 'connected'), op.count)
    case 'create':
      handle = need(repo, 'create').create<Board>({ n: 0, by: '', edits: {} })
      return handle.url
    case 'find': {
      const h = await need(repo, 'find').find<Board>(op.url, { allowableStates: ['ready', 'unavailable'] })
      if (h.state !== 'ready') await h.whenReady(['ready'])
      handle = h
      return undefined
    }
    case 'addMap': {
      const h = need(handle, 'addMap')
      h.change((d) => (d.edits[me] = {}))
      return until(h, `${op.maps} maps`, (d) => Object.keys(d.edits).length >= op.maps)
    }
    case 'offline':
      return need(node, 'offline').setEnabled(false)
    case 'edit': {
      const h = need(handle, 'edit')
      for (let k = 0; k < op.count; k++) h.change((d) => (d.edits[me]![String(k)] = k))
      return A.save(h.doc())
    }
    case 'heal': {
      const h = need(handle, 'heal')
      const complete = (d: Board): boolean => {
        const maps = Object.values(d.edits)
        return maps.length === op.maps && maps.every((m) => Object.keys(m).length === op.perMap)
      }
      const t = performance.now()
      const cpu = process.cpuUsage()
      const n = need(node, 'heal')
      await n.setEnabled(true)
      const firstPeer = connectedTo(n, 1).then(() => performance.now() - t)
      await until(h, 'complete doc', complete)
      const used = process.cpuUsage(cpu)
      return { firstPeerMs: await firstPeer, cpuMs: (used.user + used.system) / 1000 } satisfies HealReport
    }
    case 'stop':
      await repo?.shutdown()
      await node?.stop()
      return undefined
  }
}

onBenchMessage(process, (m) => {
  const { id, op } = m as PeerRequest
  run(op).then(
    (value) => reply({ id, value }, op.do === 'stop'),
    (err: unknown) =>
      reply(
        { id, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) },
        op.do === 'stop',
      ),
  )
})
// The parent gone (crashed or killed): nothing more to do.
process.on('disconnect', () => process.exit(0))

function reply(r: PeerReply, exit: boolean): void {
  sendBench(process, r).then(
    () => exit && process.exit(0),
    () => process.exit(1),
  )
}
