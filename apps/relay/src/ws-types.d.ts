// Minimal typings for the parts of `ws` the relay uses (@types/ws is not installed; see report).
declare module 'ws' {
  import type { IncomingMessage } from 'node:http'
  import type { Duplex } from 'node:stream'
  import { EventEmitter } from 'node:events'

  export class WebSocket extends EventEmitter {
    close(code?: number, reason?: string): void
    terminate(): void
  }
  export class WebSocketServer extends EventEmitter {
    constructor(options: { noServer?: boolean; maxPayload?: number })
    readonly clients: Set<WebSocket>
    handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, cb: (ws: WebSocket) => void): void
    close(cb?: (err?: Error) => void): void
  }
  export default WebSocket
}
