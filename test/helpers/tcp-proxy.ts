/**
 * A TCP proxy on 127.0.0.1 between a client and the server, that can cut every connection
 * through it and refuse new ones for a while: a Wi-Fi blip as the client sees it (its
 * WebSocket ends with 1006, as a phone's does; Chromium's offline emulation keeps open
 * WebSockets open, so browser tests need this too).
 */
import { createServer, connect, type Server, type Socket } from 'node:net'

export class TcpProxy {
  readonly port: number
  /** Connections accepted since the start (refused ones included). */
  accepted = 0
  #server: Server
  #open = new Set<Socket>()
  #refusing = false

  private constructor(server: Server, port: number) {
    this.#server = server
    this.port = port
  }

  /** A proxy to `127.0.0.1:targetPort`; `t.teardown(() => proxy.close())`. */
  static async start(targetPort: number): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined
    const server = createServer((client) => proxy!.#accept(client, targetPort))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const address = server.address()
    if (!address || typeof address === 'string') throw new Error('expected a TCP address')
    proxy = new TcpProxy(server, address.port)
    return proxy
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }
  get ws(): string {
    return `ws://127.0.0.1:${this.port}`
  }

  /** Reset every connection through the proxy, both sides, at once. */
  cut(): void {
    for (const s of this.#open) s.destroy()
    this.#open.clear()
  }

  /** While on, a new connection is accepted and reset at once (the network is down). */
  refuse(on: boolean): void {
    this.#refusing = on
  }

  /** A blip: cut everything and refuse new connections until `restore()`. */
  down(): void {
    this.refuse(true)
    this.cut()
  }
  restore(): void {
    this.refuse(false)
  }

  async close(): Promise<void> {
    this.cut()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }

  #accept(client: Socket, targetPort: number): void {
    this.accepted++
    if (this.#refusing) return void client.resetAndDestroy()
    const upstream = connect(targetPort, '127.0.0.1')
    for (const s of [client, upstream]) {
      this.#open.add(s)
      s.setNoDelay(true)
      s.on('error', () => {})
      s.on('close', () => {
        this.#open.delete(s)
        client.destroy()
        upstream.destroy()
      })
    }
    client.pipe(upstream)
    upstream.pipe(client)
  }
}
