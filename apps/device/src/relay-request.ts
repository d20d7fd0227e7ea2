import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'

/**
 * One JSON request to a relay at `base` (`ws(s)://` or `http(s)://host:port`) over http or https (`ca`: `--relay-ca`),
 * 5 s deadline, reply ≤ 1 MiB; the body is undefined when the reply is not JSON.
 */
export function relayRequest(
  base: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  ca?: string | Buffer,
): Promise<{ status: number; body: unknown }> {
  const url = new URL(`${base.replace(/^ws/, 'http')}${path}`)
  const data = body === undefined ? undefined : JSON.stringify(body)
  const headers: Record<string, string | number> =
    data === undefined
      ? {}
      : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) }
  return new Promise((resolve, reject) => {
    const onReply = (res: IncomingMessage): void => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (c: Buffer) => {
        size += c.length
        if (size > 1024 * 1024) req.destroy(new Error('relay reply too large'))
        else chunks.push(c)
      })
      res.on('end', () => {
        let json: unknown
        try {
          json = JSON.parse(Buffer.concat(chunks).toString('utf8'))
        } catch {
          json = undefined
        }
        resolve({ status: res.statusCode ?? 0, body: json })
      })
      res.on('error', reject)
    }
    const req =
      url.protocol === 'https:'
        ? httpsRequest(url, { method, headers, timeout: 5_000, ...(ca === undefined ? {} : { ca }) }, onReply)
        : httpRequest(url, { method, headers, timeout: 5_000 }, onReply)
    req.on('timeout', () => req.destroy(new Error('the relay did not answer within 5 s')))
    req.on('error', reject)
    req.end(data)
  })
}
