/**
 * The composition root: picks the Store and Bus, builds the room registry, the WebSocket
 * gateway and the HTTP routes, and owns the server's life cycle (listen, graceful stop).
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import type { Settings } from './config.js'
import { CloseCode } from './errors.js'
import { createLogger } from './log.js'
import { ServerMetrics } from './metrics.js'
import { Readiness } from './readiness.js'
import type { PresetGame } from './rooms/host.js'
import { RoomRegistry } from './rooms/registry.js'
import type { Store } from './store/store.js'
import { MemoryStore } from './store/store-memory.js'
import type { Bus } from './bus/bus.js'
import { MemoryBus } from './bus/bus-memory.js'
import { AddressWindow } from './transport/address-window.js'
import { clientAddress } from './transport/client-address.js'
import { lobbyRoutes, sendJson, type HttpRoute } from './transport/http-routes.js'
import { WsGateway, type ListenerRoute } from './transport/ws-gateway.js'
import { createClickPlanet, registerClickPlanetMetrics, type ClickPlanet, type ClickPlanetOptions } from './games/clickplanet/index.js'

/** A game plugged into the server: a preset room, HTTP routes, WebSocket listen paths. */
export interface GameModule extends Partial<HttpRoute>, Partial<ListenerRoute> {
  readonly preset?: PresetGame
  close?(): Promise<void>
}

export interface ServerOptions {
  readonly logger?: Logger
  readonly store?: Store
  readonly bus?: Bus
  readonly games?: readonly GameModule[]
  /** ClickPlanet options beyond the settings (tests: snapshot cadence, body limit). */
  readonly clickplanet?: Partial<Omit<ClickPlanetOptions, 'logger'>>
}

export interface PartylineServer {
  readonly port: number
  /** `http://host:port` of the listening socket (127.0.0.1 when bound to every address). */
  readonly url: string
  readonly registry: RoomRegistry
  readonly metrics: ServerMetrics
  /** What `/readyz` reports: each part this node depends on, ok or failing. */
  readonly readiness: Readiness
  /** The hosted ClickPlanet, when `PARTYLINE_CLICKPLANET` is on. */
  readonly clickplanet: ClickPlanet | undefined
  /**
   * Graceful stop: no new connections, every socket closed with 1012 (clients reconnect
   * elsewhere), games and store flushed; resolves within `settings.shutdownMs` plus a little.
   */
  close(): Promise<void>
}

export async function startServer(settings: Settings, opts: ServerOptions = {}): Promise<PartylineServer> {
  const logger = opts.logger ?? createLogger(settings.logLevel)
  // With a data directory the embedded store keeps game snapshots on disk (rooms stay in memory).
  const store = opts.store ?? new MemoryStore(settings.dataDir ? { dataDir: settings.dataDir } : {})
  const bus = opts.bus ?? new MemoryBus()
  const readiness = new Readiness()
  const games: GameModule[] = [...(opts.games ?? [])]
  let clickplanet: ClickPlanet | undefined
  if (settings.clickplanet) {
    games.push(
      (clickplanet = await createClickPlanet({
        logger: logger.child({ game: 'clickplanet' }),
        clickRate: settings.clickRate,
        clickBurst: settings.clickBurst,
        maxBodyBytes: 64 * 1024,
        ...(settings.dataDir ? { dataDir: settings.dataDir } : {}),
        ...(settings.map ? { mapPath: settings.map } : {}),
        store,
        readiness: readiness.component('clickplanet_log'),
        ...opts.clickplanet,
      })),
    )
  }
  const node = randomBytes(6).toString('hex')

  let metrics: ServerMetrics
  const registry = new RoomRegistry({
    store,
    node,
    logger,
    codeCooldownMs: settings.codeCooldownMs,
    limits: {
      hostGraceMs: settings.hostGraceMs,
      playerGraceMs: settings.playerGraceMs,
      keptFrames: settings.keptFrames,
      keptBytes: settings.keptBytes,
    },
    onDropped: (reason, count) => metrics.drop(reason, count),
  })
  metrics = new ServerMetrics({
    rooms: () => registry.size,
    mailboxDepth: () => {
      let max = 0
      for (const r of registry.rooms()) max = Math.max(max, r.takePeakDepth())
      return max
    },
    components: () => readiness.components(),
  })
  if (clickplanet) registerClickPlanetMetrics(metrics.registry, clickplanet)
  for (const game of games) if (game.preset) registry.addPreset(game.preset)

  let serving = true
  const joinThrottle = new AddressWindow(settings.joinAttemptsPerMinute)
  const routes: HttpRoute[] = [
    lobbyRoutes({ registry, joinThrottle, metrics: metrics.registry, serving: () => serving, readiness }),
    ...games.filter((g): g is GameModule & HttpRoute => typeof g.handleHttp === 'function'),
  ]
  const gateway = new WsGateway({
    settings,
    registry,
    metrics,
    logger,
    joinThrottle,
    listeners: games.filter((g): g is GameModule & ListenerRoute => typeof g.isListenPath === 'function'),
  })

  const http: Server = createServer((req, res) => {
    let url: URL
    try {
      url = new URL(req.url ?? '/', 'http://partyline')
    } catch {
      return sendJson(res, 400, { error: 'malformed request target' })
    }
    const address = clientAddress(req, settings.trustProxy)
    try {
      for (const route of routes) if (route.handleHttp(req, res, url, address)) return
      sendJson(res, 404, { error: `no route ${req.method} ${url.pathname}` })
    } catch (err) {
      logger.error({ err, path: url.pathname }, 'http route failed')
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' })
      else res.destroy()
    }
  })
  http.on('upgrade', (req, socket, head: Buffer) => gateway.handleUpgrade(req, socket, head))
  http.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n')
    else socket.destroy()
  })

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject)
    http.listen(settings.port, settings.host, () => {
      http.off('error', reject)
      resolve()
    })
  })
  const { port, address } = http.address() as AddressInfo
  const shown = address === '0.0.0.0' || address === '::' ? '127.0.0.1' : address.includes(':') ? `[${address}]` : address
  logger.info({ port, host: settings.host, node }, 'partyline listening')

  let closing: Promise<void> | undefined
  const close = (): Promise<void> => {
    closing ??= (async () => {
      serving = false
      readiness.stopping()
      http.close()
      registry.shutdown()
      gateway.closeAll(CloseCode.ServiceRestart)
      const deadline = Date.now() + settings.shutdownMs
      while (gateway.openConnections > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
      http.closeAllConnections()
      for (const game of games) await game.close?.().catch((err: unknown) => logger.error({ err }, 'game close failed'))
      await bus.close()
      await store.close()
      logger.info('partyline stopped')
    })()
    return closing
  }

  return { port, url: `http://${shown}:${port}`, registry, metrics, readiness, clickplanet, close }
}
