import { MAX_CLOSE_REASON_BYTES } from './constants.js'

/** `Name: message`, cut at a character boundary to fit a WebSocket close frame (`ws` throws past 123 bytes). */
export function closeReason(name: string, message: string): string {
  let out = ''
  let bytes = 0
  for (const ch of `${name}: ${message}`) {
    bytes += Buffer.byteLength(ch)
    if (bytes > MAX_CLOSE_REASON_BYTES) break
    out += ch
  }
  return out
}
