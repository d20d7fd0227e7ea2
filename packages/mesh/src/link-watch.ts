import { randomBytes } from 'node:crypto'
import type { Connection, Libp2p, Stream, StreamMessageEvent } from '@libp2p/interface'
import { MeshClosedError } from './errors.js'

/** libp2p protocol of the mesh's own liveness probe: the opener sends 8 bytes, the other side echoes them. */
export const LINK_PING_PROTOCOL = '/clinic-mesh/ping/1.0.0'

const PROBE_BYTES = 8

/**
 * When a link is taken for dead (issue 17 #5). libp2p's own connection monitor aborted a connection whose ping did
 * not come back within its timeout; on a 256 kbit/s link busy with a join the ping waits behind the sync data and
 * the join was cut by its own keep-alive every 15-20 s. The rule here: whatever arrives from a device is proof the
 * link is alive; a probe is sent only when nothing arrived for `quietMs`; a connection is closed only when a probe
 * failed AND nothing at all arrived from that device for `idleDeadMs` — or for `busyDeadMs` when this device sent it
 * at least `busyBytes` since it last heard from it (that data is queued ahead of the probe on a slow link).
 */
export interface LinkWatchPolicy {
  /** probe when nothing arrived from the device for this long (default 10 s) */
  quietMs: number
  /** a probe not echoed within this long failed (default 10 s) */
  probeTimeoutMs: number
  /** dead: a probe failed and nothing arrived for this long (default 20 s: an idle dead link goes in 20-21 s) */
  idleDeadMs: number
  /** the same while our own data may be queued ahead of the probe (default 120 s) */
  busyDeadMs: number
  /** bytes sent since the device was last heard from that make a link busy (default 64 KiB: 2 s at 256 kbit/s) */
  busyBytes: number
  /** how often connections are looked at (default 1 s) */
  checkEveryMs: number
}

export const DEFAULT_LINK_WATCH: LinkWatchPolicy = {
  quietMs: 10_000,
  probeTimeoutMs: 10_000,
  idleDeadMs: 20_000,
  busyDeadMs: 120_000,
  busyBytes: 64 * 1024,
  checkEveryMs: 1_000,
}

interface PeerState {
  lastHeard: number
  sentSinceHeard: number
  probing: boolean
  probeFailed: boolean
}

/** Keep-alive of a mesh node's connections by the rule of LinkWatchPolicy. */
export class LinkWatch {
  readonly #libp2p: Libp2p
  readonly #policy: LinkWatchPolicy
  readonly #peers = new Map<string, PeerState>()
  readonly #onDead: (remote: string, silentMs: number) => void
  #timer: ReturnType<typeof setInterval> | undefined
  /** connections closed as dead so far */
  closed = 0
  /** probes echoed so far (an idle link that stays up answers them) */
  answered = 0

  constructor(
    libp2p: Libp2p,
    policy: Partial<LinkWatchPolicy> = {},
    onDead: (remote: string, silentMs: number) => void = () => {},
  ) {
    this.#libp2p = libp2p
    this.#policy = { ...DEFAULT_LINK_WATCH, ...policy }
    this.#onDead = onDead
  }

  /** Registers the echo side of the probe and starts looking at connections. */
  async start(): Promise<void> {
    await this.#libp2p.handle(LINK_PING_PROTOCOL, (stream) => echo(stream), {
      maxInboundStreams: 2,
      maxOutboundStreams: 2,
    })
    this.#timer = setInterval(() => this.#check(), this.#policy.checkEveryMs)
    this.#timer.unref?.()
  }

  stop(): void {
    clearInterval(this.#timer)
    this.#peers.clear()
  }

  /** Bytes arrived from `remote` (any sync frame, whole or not): the link is alive. */
  heard(remote: string): void {
    const st = this.#state(remote)
    st.lastHeard = Date.now()
    st.sentSinceHeard = 0
    st.probeFailed = false
  }

  /** Bytes handed to the link towards `remote`. */
  sent(remote: string, bytes: number): void {
    this.#state(remote).sentSinceHeard += bytes
  }

  /**
   * A new connection from `remote`. If nothing had arrived from it for `quietMs`, its older connections are taken
   * for dead and closed: the device evidently dropped them on its side (its close or reset did not come through a
   * silent link), and a sync stream kept on one of them would hold this pair apart until busyDeadMs.
   */
  opened(conn: Connection): void {
    const remote = conn.remotePeer.toString()
    const st = this.#peers.get(remote)
    if (st !== undefined && Date.now() - st.lastHeard >= this.#policy.quietMs) {
      for (const old of this.#libp2p.getConnections(conn.remotePeer)) {
        if (old.id === conn.id) continue
        this.closed++
        this.#onDead(remote, Date.now() - st.lastHeard)
        old.abort(
          new MeshClosedError(`${remote} connected again after a silence: its older connection is dead`),
        )
      }
    }
    this.heard(remote)
  }

  forget(remote: string): void {
    this.#peers.delete(remote)
  }

  /**
   * What the watch knows of `remote` now: how long nothing has arrived from it, whether its last probe failed, and
   * the bytes sent to it since (over `busyBytes`: busyDeadMs applies, not idleDeadMs). Undefined when not watched.
   */
  status(remote: string): { silentMs: number; probeFailed: boolean; sentSinceHeard: number } | undefined {
    const st = this.#peers.get(remote)
    if (st === undefined) return undefined
    return {
      silentMs: Date.now() - st.lastHeard,
      probeFailed: st.probeFailed,
      sentSinceHeard: st.sentSinceHeard,
    }
  }

  #state(remote: string): PeerState {
    let st = this.#peers.get(remote)
    if (st === undefined) {
      st = { lastHeard: Date.now(), sentSinceHeard: 0, probing: false, probeFailed: false }
      this.#peers.set(remote, st)
    }
    return st
  }

  #check(): void {
    const now = Date.now()
    const p = this.#policy
    for (const conn of this.#libp2p.getConnections()) {
      if (conn.status !== 'open') continue
      const remote = conn.remotePeer.toString()
      const st = this.#state(remote)
      const silent = now - st.lastHeard
      if (silent < p.quietMs) continue
      if (!st.probing && !st.probeFailed) void this.#probe(conn, remote, st)
      const deadAfter = st.sentSinceHeard >= p.busyBytes ? p.busyDeadMs : p.idleDeadMs
      if (st.probeFailed && silent >= deadAfter) {
        this.#peers.delete(remote)
        this.closed++
        this.#onDead(remote, silent)
        for (const c of this.#libp2p.getConnections(conn.remotePeer))
          c.abort(
            new MeshClosedError(
              `nothing from ${remote} for ${Math.round(silent / 1000)} s and a ping failed`,
            ),
          )
      }
    }
  }

  async #probe(conn: Connection, remote: string, st: PeerState): Promise<void> {
    st.probing = true
    const signal = AbortSignal.timeout(this.#policy.probeTimeoutMs)
    let stream: Stream | undefined
    try {
      stream = await conn.newStream(LINK_PING_PROTOCOL, { signal, runOnLimitedConnection: true })
      const s = stream
      const echoed = new Promise<void>((resolve, reject) => {
        let n = 0
        s.addEventListener('message', (evt: StreamMessageEvent) => {
          n += evt.data.byteLength
          if (n >= PROBE_BYTES) resolve()
        })
        s.addEventListener('close', () => reject(new MeshClosedError('probe stream closed')), { once: true })
        signal.addEventListener('abort', () => reject(new MeshClosedError('probe timed out')), { once: true })
      })
      s.send(randomBytes(PROBE_BYTES))
      await echoed
      this.answered++
      this.heard(remote)
      await s.close().catch(() => undefined)
    } catch (err) {
      stream?.abort(err instanceof Error ? err : new MeshClosedError(String(err)))
      // a device that does not speak the probe protocol answered multistream-select: it is there
      if (err instanceof Error && err.name === 'UnsupportedProtocolError') this.heard(remote)
      else if (this.#peers.get(remote) === st) st.probeFailed = true
    } finally {
      st.probing = false
    }
  }
}

/** The probe's other side: sends back what arrives, closes when the opener closes. */
function echo(stream: Stream): void {
  stream.addEventListener('message', (evt: StreamMessageEvent) => {
    stream.send(evt.data)
  })
  stream.addEventListener('remoteCloseWrite', () => void stream.close().catch(() => undefined), {
    once: true,
  })
}
