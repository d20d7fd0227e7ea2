/** What a session holds and has dropped on its send side (tests, status). */
export interface SendQueueStats {
  /** bytes of frames queued and not yet handed to the stream */
  queuedBytes: number
  /** the most `queuedBytes` ever was: at most max(bound, largestMessage) */
  peakQueuedBytes: number
  /** bytes of the largest message queued (all its frames) */
  largestMessage: number
  /** times the queue went over its bound */
  overflows: number
  /** messages dropped while over the bound */
  dropped: number
  /** true from an overflow until the queue drained */
  overflowed: boolean
  /** bytes not sent again because the peer still held them from a cut stream (resumed messages) */
  resumedBytes: number
  /** large messages not queued because the very same bytes were already queued on this stream, and their bytes */
  duplicates: number
  duplicateBytes: number
}
