/**
 * The composition root: picks the Store and Bus, builds the room registry, the WebSocket
 * gateway and the HTTP routes, and owns the server's life cycle (listen, graceful stop).
 */
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Logger } from 'pino'
import type { Settings } from './config.js'
import { CloseCode } from './errors.js'
import { createLogger } from './log.js'
import { ServerMetrics } from './metrics.js'
import { Readiness } from './readiness.js'
import type { PresetGame } from './rooms/host.js'
import { RoomRegistry } from './rooms/registry.js'
import { RoomLocator } from './rooms/room-locator.js'
import type { Store } from './store/store.js'
import type { Bus } from './bus/bus.js'
import { createEngines, registerEngineMetrics } from './engines.js'
import { AddressWindow } from './transport/address-window.js'
import { largeResponseLimits, LargeResponses, registerLargeResponseMetrics } from './transport/http-large-responses.js'
import { lobbyRoutes, type HttpRoute } from './transport/http-routes.js'
import { capHttpConnections, registerHttpConnectionMetrics } from './transport/http-connection-cap.js'
import { createHttpServer } from './transport/http-server.js'
import { WsGateway, type ListenerRoute } from './transport/ws-gateway.js'
import { webRoutes, type WebRoutesOptions } from './transport/static-routes.js'
import { adminRoutes } from './admin/admin-routes.js'
import { Cluster, registerClusterMetrics } from './cluster/cluster.js'
import { StoreLobby } from './cluster/cluster-lobby.js'
import { NodeDirectory } from './admin/admin-directory.js'
import { ClusterDirectory } from './admin/cluster-directory.js'
import { createClickPlanet, registerClickPlanetMetrics, type ClickPlanet, type ClickPlanetOptions } from './games/clickplanet/index.js'

/** A game plugged into the server: a preset room, HTTP routes, WebSocket listen paths. */
export interface GameModule extends Partial<HttpRoute>, Partial<ListenerRoute> {
  readonly preset?: PresetGame
  close?(): Promise<void>
}

export interface ServerOptions {
  readonly logger?: Logger
  /** Use this Store instead of the one the settings choose (tests; nodes sharing one in a process). */
  readonly store?: Store
  /** Use this Bus instead of the one the settings choose. */
  readonly bus?: Bus
  readonly games?: readonly GameModule[]
  /** ClickPlanet options beyond the settings (tests: snapshot cadence, body limit). */
  readonly clickplanet?: Partial<Omit<ClickPlanetOptions, 'logger'>>
  /** Where the built pages and SDK are (tests build their own; default `dist/web`, `dist/sdk`). */
  readonly web?: WebRoutesOptions
}

export interface PartylineServer {
  readonly port: number
  /** `http://host:port` of the listening socket (127.0.0.1 when bound to every address). */
  readonly url: string
  /** How this node names itself (`PARTYLINE_NODE_ID`, or generated at start). */
  readonly nodeId: string
  readonly registry: RoomRegistry
  readonly metrics: ServerMetrics
  /** What `/readyz` reports: each part this node depends on, ok or failing. */
  readonly readiness: Readiness
  /** The Bus between nodes (its `stats` count what crossed it). */
  readonly bus: Bus
  /** This node's part of a cluster, when the Store is shared. */
  readonly cluster: Cluster | undefined
  /** The hosted ClickPlanet, when `PARTYLINE_CLICKPLANET` is on. */
  readonly clickplanet: ClickPlanet | undefined
  /**
   * Graceful stop: no new connections, every socket closed with 1012 (clients reconnect
   * elsewhere), games and store flushed; resolves within `settings.shutdownMs` plus a little.
   */
  close(): Promise<void>
}

/** The largest request body any route takes (ClickPlanet's requests are a few bytes). */
const MAX_BODY_BYTES = 64 * 1024

export async function startServer(settings: Settings, opts: ServerOptions = {}): Promise<PartylineServer> {
  const logger = opts.logger ?? createLogger(settings.logLevel)
  const readiness = new Readiness()
  const engines = createEngines(settings, { logger, readiness, store: opts.store, bus: opts.bus })
  const { store, nodeId: node } = engines
  // A start that fails must not leave engines reconnecting in the background.
  const orClose = <T>(p: Promise<T>): Promise<T> => p.catch(async (err: unknown) => {
    await engines.close()
    throw err
  })
  const games: GameModule[] = [...(opts.games ?? [])]
  const responses = new LargeResponses(largeResponseLimits(settings))
  const maxBodyBytes = opts.clickplanet?.maxBodyBytes ?? MAX_BODY_BYTES
  let clickplanet: ClickPlanet | undefined
  if (settings.clickplanet) {
    games.push(
      (clickplanet = await orClose(createClickPlanet({
        logger: logger.child({ game: 'clickplanet' }),
        clickRate: settings.clickRate,
        clickBurst: settings.clickBurst,
        maxBodyBytes,
        discardBodyBytes: settings.httpDiscardBytes,
        responses,
        ...(settings.dataDir ? { dataDir: settings.dataDir } : {}),
        ...(settings.map ? { mapPath: settings.map } : {}),
        store,
        readiness: readiness.component('clickplanet_log'),
        snapshotEveryClicks: settings.snapshotEveryClicks,
        snapshotIntervalMs: settings.snapshotIntervalMs,
        applyWaitMs: settings.clicksApplyWaitMs,
        nodeId: node,
        // With NATS the click log is the cluster's JetStream stream (snapshots: the Store).
        ...(settings.natsUrl !== '' && {
          jetstream: {
            servers: settings.natsUrl,
            stream: settings.clicksStream,
            replicas: settings.clicksReplicas,
            ackWaitMs: settings.clicksAckWaitMs,
            duplicateWindowMs: settings.clicksDuplicateWindowMs,
            name: node,
            health: readiness.component('jetstream'),
          },
        }),
        ...opts.clickplanet,
      }))),
    )
  }
  let metrics: ServerMetrics
  const registry = new RoomRegistry({
    store,
    node,
    logger,
    codeCooldownMs: settings.codeCooldownMs,
    roomsPerMinuteTotal: settings.roomsPerMinuteTotal,
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
  registerEngineMetrics(metrics.registry, engines)
  if (clickplanet) registerClickPlanetMetrics(metrics.registry, clickplanet)
  registerLargeResponseMetrics(metrics.registry, responses)
  for (const game of games) if (game.preset) registry.addPreset(game.preset)

  // A shared store makes this node one of a cluster: rooms may run on other nodes.
  const clustered = engines.kinds.store === 'redis'
  const locator = new RoomLocator({ registry, node, ...(clustered ? { directory: store } : {}) })
  const cluster = clustered
    ? new Cluster({ bus: engines.bus, store, node, registry, locator, leaseMs: settings.nodeLeaseMs, playerGraceMs: settings.playerGraceMs, logger })
    : undefined
  if (cluster) registerClusterMetrics(metrics.registry, cluster)
  let serving = true
  const joinThrottle = new AddressWindow(settings.joinAttemptsPerMinute)
  const routes: HttpRoute[] = [
    lobbyRoutes({ registry, locator, ...(clustered ? { clusterLobby: new StoreLobby(store) } : {}), joinThrottle, metrics: metrics.registry, serving: () => serving, readiness }),
    ...games.filter((g): g is GameModule & HttpRoute => typeof g.handleHttp === 'function'),
  ]
  // Pages last: every API route above keeps priority over a page path.
  const web = webRoutes(opts.web)
  const nodeDirectory = new NodeDirectory({ registry, metrics, node, ...(cluster ? { busP99Ms: () => cluster.busP99Ms() } : {}) })
  cluster?.answerAdmin(nodeDirectory)
  const directory = cluster ? new ClusterDirectory({ local: nodeDirectory, cluster, store, locator, node }) : nodeDirectory
  routes.push(adminRoutes({ token: settings.adminToken, directory, pages: web.pages, logger }), web)
  const gateway = new WsGateway({
    settings,
    registry,
    locator,
    ...(cluster ? { bridge: cluster.doors } : {}),
    metrics,
    logger,
    joinThrottle,
    listeners: games.filter((g): g is GameModule & ListenerRoute => typeof g.isListenPath === 'function'),
  })

  const http: Server = createHttpServer({ settings, routes, serving: () => serving, maxBodyBytes, logger })
  http.on('upgrade', (req, socket, head: Buffer) => gateway.handleUpgrade(req, socket, head))
  if (!settings.trustProxy) registerHttpConnectionMetrics(metrics.registry, capHttpConnections(http, settings.httpConnectionsPerAddress))

  await orClose(new Promise<void>((resolve, reject) => {
    http.once('error', reject)
    http.listen(settings.port, settings.host, () => {
      http.off('error', reject)
      resolve()
    })
  }))
  const { port, address } = http.address() as AddressInfo
  const shown = address === '0.0.0.0' || address === '::' ? '127.0.0.1' : address.includes(':') ? `[${address}]` : address
  logger.info({ port, host: settings.host, node }, 'partyline listening')

  let closing: Promise<void> | undefined
  const close = (): Promise<void> => {
    closing ??= (async () => {
      serving = false
      readiness.stopping()
      // Rooms go to live nodes first (their connections here are closed once the new owner has them).
      if (cluster) await cluster.handOver(Date.now() + settings.shutdownMs / 2)
      registry.shutdown()
      gateway.closeAll(CloseCode.ServiceRestart)
      // The listener stays open while the sockets close: `/healthz` and `/readyz` answer 503
      // on kept-alive connections and new ones, every other request 503 shutting_down.
      const deadline = Date.now() + settings.shutdownMs
      while (gateway.openConnections > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
      http.close()
      http.closeAllConnections()
      for (const game of games) await game.close?.().catch((err: unknown) => logger.error({ err }, 'game close failed'))
      cluster?.close()
      await engines.close()
      logger.info('partyline stopped')
    })()
    return closing
  }

  return { port, url: `http://${shown}:${port}`, nodeId: node, registry, metrics, readiness, bus: engines.bus, cluster, clickplanet, close }
}
