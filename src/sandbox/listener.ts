/**
 * The sandbox's listening socket and its connections. A refuse-mode outage stops listening and
 * drops every connection, so clients see a refused connection as in a real outage; when it ends
 * the socket listens again on the same port, retrying while the port is busy.
 */
import http from 'node:http'
import type { Socket } from 'node:net'

/** How often listening again after an outage is retried while the port is busy. */
const RELISTEN_RETRY_MS = 100
/** Idle keep-alive sockets are closed after this (Node's default of 5 s races clients that keep them longer). */
const KEEP_ALIVE_TIMEOUT_MS = 65_000

export interface ListenerOptions {
  host: string
  /** 0 for any free port; the port taken is kept through outages. */
  port: number
  onRequest: http.RequestListener
  /** Whether a refuse-mode outage is on: a listen that completes during one is undone. */
  refusing: () => boolean
}

export class Listener {
  private readonly server: http.Server
  private readonly sockets = new Set<Socket>()
  private listening = false
  private closed = false
  private retryTimer: NodeJS.Timeout | undefined
  /** The control request that started a refuse-mode outage: its socket lives long enough to answer. */
  private spared: Socket | null = null
  private boundPort: number

  constructor(private readonly options: ListenerOptions) {
    this.boundPort = options.port
    this.server = http.createServer({ keepAlive: true }, options.onRequest)
    // Longer than clients keep idle sockets, so a request never races the server closing one.
    this.server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS
    this.server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1000
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket)
      socket.on('close', () => this.sockets.delete(socket))
    })
  }

  get port(): number {
    return this.boundPort
  }

  /** Listens for the first time; with port 0, `port` is the one the system chose. */
  async start(): Promise<void> {
    await this.listen()
    const address = this.server.address()
    if (address && typeof address === 'object') this.boundPort = address.port
  }

  /** Keeps this socket (or, with null, none) open when `stop` drops the others. */
  spare(socket: Socket | null): void {
    this.spared = socket
  }

  /** Stops listening and drops every connection but the spared one. */
  stop(): void {
    if (this.listening) {
      this.listening = false
      this.server.close()
    }
    for (const socket of this.sockets) if (socket !== this.spared) socket.destroy()
  }

  /** Listens again, retrying while the port is busy, until it succeeds or `cancelResume`/`close`. */
  resume(): void {
    if (this.closed || this.listening) return
    this.listen().then(
      () => {
        // Closed, or a new refuse outage began, while the listen was under way.
        if (this.closed || this.options.refusing()) this.stop()
      },
      () => {
        if (!this.closed) this.retryTimer = setTimeout(() => this.resume(), RELISTEN_RETRY_MS)
      }
    )
  }

  cancelResume(): void {
    clearTimeout(this.retryTimer)
    this.retryTimer = undefined
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve()
    this.closed = true
    this.cancelResume()
    return new Promise<void>((resolve) => {
      if (this.listening) {
        this.listening = false
        this.server.close(() => resolve())
      } else {
        resolve()
      }
      for (const socket of this.sockets) socket.destroy()
    })
  }

  private listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => {
        this.server.off('listening', onListening)
        reject(err)
      }
      const onListening = () => {
        this.server.off('error', onError)
        this.listening = true
        resolve()
      }
      this.server.once('error', onError)
      this.server.once('listening', onListening)
      this.server.listen(this.boundPort, this.options.host)
    })
  }
}
