import { Repo, type PeerId } from '@automerge/automerge-repo'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { watchOpen } from '../src/lib/open-watch.js'

afterEach(() => {
  vi.useRealTimers()
})

/** A repo with one document it holds and one it asks for and has not got (no network answers it). */
function repoWaitingForOne(): { repo: Repo; waitingId: string } {
  const repo = new Repo({ network: [], peerId: 'tab' as PeerId })
  repo.create({ held: true })
  const waiting = repo.create({}).documentId
  // a handle that is not ready: the one the open still waits for
  const h = repo.handles[waiting]!
  vi.spyOn(h, 'isReady').mockReturnValue(false)
  return { repo, waitingId: waiting }
}

describe('a slow open of the clinic in the browser', () => {
  it('is reported with the documents it waits for, and reconnects to the node while one is connected', () => {
    vi.useFakeTimers()
    const { repo, waitingId } = repoWaitingForOne()
    let peers: PeerId[] = ['node' as PeerId]
    const view = {
      handles: repo.handles,
      get peers() {
        return peers
      },
    }
    const lines: string[] = []
    const resync = vi.fn()
    const stop = watchOpen(view, {
      resync,
      everyMs: 15_000,
      warn: (l) => lines.push(l),
      state: () => 'loading',
    })
    vi.advanceTimersByTime(14_999)
    expect(resync).not.toHaveBeenCalled() // not before the open is slow
    vi.advanceTimersByTime(1)
    expect(resync).toHaveBeenCalledTimes(1)
    expect(lines[0]).toContain(`${waitingId.slice(0, 6)}:`)
    expect(lines[0]).toContain('peers 1')
    expect(lines[0]).toMatch(/reconnecting to the device node$/)
    expect(lines[0]).not.toContain(
      Object.keys(repo.handles)
        .find((id) => id !== waitingId)!
        .slice(0, 6),
    )
    // the node is gone: reconnecting would not help (the adapter is already trying); the open is still reported
    peers = []
    vi.advanceTimersByTime(15_000)
    expect(resync).toHaveBeenCalledTimes(1)
    expect(lines[1]).toContain('peers 0')
    peers = ['node' as PeerId]
    vi.advanceTimersByTime(15_000)
    expect(resync).toHaveBeenCalledTimes(2)
    // the open ended: nothing more
    stop()
    vi.advanceTimersByTime(60_000)
    expect(resync).toHaveBeenCalledTimes(2)
    expect(lines).toHaveLength(3)
  })

  it('does not reconnect when nothing is waited for', () => {
    vi.useFakeTimers()
    const repo = new Repo({ network: [], peerId: 'tab' as PeerId })
    repo.create({ held: true })
    const resync = vi.fn()
    const lines: string[] = []
    const stop = watchOpen(
      { handles: repo.handles, peers: ['node' as PeerId] },
      { resync, warn: (l) => lines.push(l), state: () => 'loading' },
    )
    vi.advanceTimersByTime(15_000)
    stop()
    expect(resync).not.toHaveBeenCalled()
    expect(lines[0]).toContain('documents not ready: none')
  })
})
