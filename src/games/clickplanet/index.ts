/**
 * ClickPlanet: a massively multiplayer globe served by partyline (wire contract:
 * the spec's clickplanet.md).
 *
 * CQRS: every click (HTTP or a frame in room PLANET) goes through `ClickCommands` into the
 * `EventLog`; the `Projection` applies the log in order, and each owner change becomes one
 * encoded `UpdateNotification` fanned out to `/ws/listen` sockets and the PLANET room. Reads
 * come from `ReadModels`, cached per change and rebuilt off the request path (see there).
 * Snapshots + log replay restore the projection on start.
 *
 * Routes, under `/api/` and `/v2/rpc/` (bodies `{"data": [bytes…] | "<base64>"}`, answers
 * `{"data": "<base64>"}`, errors `{"error": reason, "code": code}` (`HttpErrorCode`)):
 * - `POST click` ClickRequest → ClickResponse; `GET ownerships` → OwnershipState;
 *   `POST ownerships-by-batch` BatchRequest → OwnershipState; `GET leaderboard` → LeaderboardResponse.
 *   `ownerships` and `leaderboard` carry an ETag and answer `If-None-Match` with 304.
 * Map routes, under `/api/map/` only:
 * - `GET countries/<cc>` → `{"tiles": [ids…]}` (404 when the code has no territory);
 * - `GET summary` → `{"tiles": T, "spherePoints": N, "noCountry": n,
 *   "countries": [{"id": "ad", "tiles": 1}, …]}` (countries sorted by id);
 * - `GET tiles` → the map asset itself, `application/octet-stream` (layout in `map-format.ts`).
 * Stream: `GET /ws/listen`, `/v2/ws/listen` → binary UpdateNotification frames.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { defaultSettings } from '../../config.js'
import { CloseCode } from '../../errors.js'
import { largeResponseLimits, LargeResponses } from '../../transport/http-large-responses.js'
import type { Connection } from '../../transport/connection.js'
import type { ReadinessComponent } from '../../readiness.js'
import type { PresetGame } from '../../rooms/host.js'
import type { Store } from '../../store/store.js'
import { MemoryStore } from '../../store/store-memory.js'
import { ClickCommands } from './click-commands.js'
import type { EventLog } from './event-log.js'
import { FileEventLog } from './event-log-file.js'
import type { SnapshotRef } from './event-log-recovery.js'
import { MemoryEventLog } from './event-log-memory.js'
import { JetStreamEventLog, type JetStreamLogOptions } from './event-log-jetstream.js'
import { LogFollower } from './log-follower.js'
import { HttpApi } from './http-api.js'
import { ListenerHub } from './listener-hub.js'
import { ClickPlanetMap, defaultMapPath } from './map.js'
import { PlanetGame, type PlanetCounters } from './planet-room.js'
import { Projection } from './projection.js'
import { RateLimiter } from './rate-limiter.js'
import { ReadModels } from './read-models.js'
import { ClusterSnapshots, StoreSnapshots, type Snapshot, type SnapshotStore } from './snapshot.js'
import { SnapshotScheduler } from './snapshot-scheduler.js'

export { registerClickPlanetMetrics } from './metrics.js'
export { runRobot } from './robot.js'

export interface ClickPlanetOptions {
  /** Map asset; default: the committed `assets/map-default.bin`. */
  mapPath?: string
  /**
   * Directory for the click log (`clicks.log`), and for snapshots when no `store` is given;
   * unset = in memory.
   */
  dataDir?: string
  /**
   * Where snapshots go (the server's Store, under the name `clickplanet`). Unset: a
   * `MemoryStore` of ClickPlanet's own, on disk under `dataDir` when that is set.
   */
  store?: Store
  /** Clicks per second per client address; 0 = unlimited. */
  clickRate: number
  clickBurst: number
  /** Largest request body accepted (413 past it). */
  maxBodyBytes: number
  /** How much of a body over the limit is drained before the 413 (default: none). */
  discardBodyBytes?: number
  /** The server's bounds on large answers in flight (default: ClickPlanet's own, at the default settings). */
  responses?: LargeResponses
  logger: Logger
  /** Snapshot after this many clicks (default 100,000)… */
  snapshotEveryClicks?: number
  /** …or this often when clicks arrived (default 60 s). */
  snapshotIntervalMs?: number
  /** fdatasync the log before acknowledging clicks (default true; only with dataDir). */
  fsync?: boolean
  /**
   * The click log to use instead of the embedded one (memory, or `clicks.log` in `dataDir`):
   * a JetStream log, or a test's. ClickPlanet closes it on `close()`.
   */
  log?: EventLog
  /**
   * Follow a JetStream stream (a cluster) instead of the embedded log; ClickPlanet builds
   * the log and closes it. Its `health` is the `jetstream` readiness component.
   */
  jetstream?: Omit<JetStreamLogOptions, 'logger'>
  /**
   * How long a click waits, after the log acknowledged it, for this node's projection to
   * apply it before it is answered 503 (default 5 s). In-process logs apply at once.
   */
  applyWaitMs?: number
  /** This node's id (the snapshot writer's name in a cluster). */
  nodeId?: string
  /** With JetStream: how long start-up waits to catch up before serving (default 10 s). */
  startWaitMs?: number
  /**
   * Where ClickPlanet says whether clicks can be stored (the server's `clickplanet_log`
   * component of `/readyz` and `partyline_ready`): failing while the log refuses writes, or
   * for good once the projection stopped following the log.
   */
  readiness?: ReadinessComponent
}

export interface ClickPlanetStats {
  readonly clicksAccepted: number
  /** Refused as invalid (bad tile or country) after decoding. */
  readonly clicksInvalid: number
  readonly clicksRateLimited: number
  /** Not stored: the log failed, the server was closing or the projection had stopped. */
  readonly clicksFailed: number
  /** Writes of the click log that failed (each fails its batch of clicks; the log then retries). */
  readonly logFailures: number
  /** Snapshots that could not be saved (the previous one stayed in place). */
  readonly snapshotFailures: number
  /**
   * Why the projection stopped following the log (undefined while it follows). Once set,
   * clicks are refused with 503: acknowledging them while reads stay frozen would lie.
   */
  readonly projectionStopped: string | undefined
  readonly logPosition: number
  /** Entries the log holds that this node has not applied yet (its lag behind the stream). */
  readonly logLag: number
  /** Times the projection subscribed to the log again after delivery stopped (NATS lost). */
  readonly logResubscribes: number
  /** Times the projection was rebuilt (the log trimmed past it, or replaced). */
  readonly logRebuilds: number
  /** Clicks JetStream did not acknowledge, or that were refused while it was unreachable. */
  readonly publishFailures: number
  readonly snapshotPosition: number
  /** When this node last saved a snapshot, ms since the epoch (0: never). */
  readonly snapshotSavedAt: number
  /** Snapshots this node saved. */
  readonly snapshotsSaved: number
  /** Saves skipped: another node writes the snapshots, or a newer one was stored. */
  readonly snapshotsSkipped: number
  readonly tiles: number
  readonly listeners: number
  /** Listeners closed with 1013 for reading too slowly. */
  readonly listenersDropped: number
  /** Frames sent to listeners (one per listener per update). */
  readonly listenerFramesSent: number
  /** How long the last update took to write to every listener, in ms. */
  readonly listenerBroadcastMs: number
  readonly planet: Readonly<PlanetCounters>
  /** Rebuilds of the full ownerships answer. */
  readonly ownershipsRebuilds: number
  /** Longest stretch the last of them held the event loop (ms). */
  readonly ownershipsRebuildMaxSliceMs: number
}

export interface ClickPlanet {
  /** true if the route is ClickPlanet's (including OPTIONS preflight) and it answered. */
  handleHttp(req: IncomingMessage, res: ServerResponse, url: URL, clientAddress: string): boolean
  isListenPath(pathname: string): boolean
  /** Takes an upgraded connection as an update listener (slow ones are closed with 1013). */
  acceptListener(conn: Connection): void
  readonly preset: PresetGame
  readonly stats: ClickPlanetStats
  readonly map: ClickPlanetMap
  /** Refuses new clicks, flushes the log, saves a final snapshot, closes listeners (1012). */
  close(): Promise<void>
}

const LISTEN_PATHS = new Set(['/ws/listen', '/v2/ws/listen'])

export async function createClickPlanet(opts: ClickPlanetOptions): Promise<ClickPlanet> {
  const logger = opts.logger
  const started = performance.now()
  const map = ClickPlanetMap.load(opts.mapPath ?? defaultMapPath())

  if (opts.dataDir !== undefined) await mkdir(opts.dataDir, { recursive: true })
  // A store of our own is ours to close; the server's is the server's.
  const ownStore = opts.store === undefined ? new MemoryStore(opts.dataDir === undefined ? {} : { dataDir: opts.dataDir }) : undefined
  const store: SnapshotStore = new StoreSnapshots(opts.store ?? ownStore!)

  // The snapshot, if one fits this map; the log decides whether it is of its history.
  let snapshot: Snapshot | undefined
  let snapshotProblem: string | undefined
  try {
    // In a cluster the snapshot is chosen once the stream's identity is known (see restore).
    if (opts.jetstream === undefined) snapshot = await store.load()
  } catch (err) {
    snapshotProblem = `the snapshot is unreadable: ${err instanceof Error ? err.message : String(err)}`
    logger.error({ err }, 'clickplanet: snapshot unreadable, not used')
  }
  if (snapshot !== undefined && snapshot.mapChecksum !== map.checksum) {
    snapshotProblem = 'the snapshot is of another map'
    logger.warn('clickplanet: snapshot is of another map, ignored')
    snapshot = undefined
  }
  const ref: SnapshotRef | undefined = snapshot && { logId: snapshot.logId ?? '', position: snapshot.position }

  let stopped: string | undefined
  const readiness = opts.readiness
  let fileLog: FileEventLog | undefined
  let log: EventLog
  let useSnapshot: boolean
  let remote: JetStreamEventLog | undefined
  if (opts.jetstream !== undefined) {
    // The stream's identity is known once it is reached: the snapshot is judged then.
    log = remote = new JetStreamEventLog({ ...opts.jetstream, logger })
    useSnapshot = false
  } else if (opts.log !== undefined || opts.dataDir === undefined) {
    log = opts.log ?? new MemoryEventLog()
    useSnapshot = snapshotFits(log, ref, logger)
  } else {
    const path = join(opts.dataDir, 'clicks.log')
    fileLog = await FileEventLog.open(path, {
      fsync: opts.fsync ?? true,
      snapshot: ref,
      snapshotProblem,
      onHealth: (problem) => {
        if (problem === undefined) {
          logger.info('clickplanet: the click log writes again; clicks are accepted')
          if (stopped === undefined) readiness?.ok()
        } else {
          logger.error({ problem }, 'clickplanet: the click log failed; clicks are refused (503) while it retries')
          if (stopped === undefined) readiness?.failing(problem)
        }
      },
    })
    for (const note of fileLog.recovery.notes) logger[note.level]({ file: path }, `clickplanet: ${note.msg}`)
    log = fileLog
    useSnapshot = fileLog.recovery.useSnapshot
  }

  // In a cluster, snapshots are the Store's, per stream incarnation, one writer at a time.
  const snapshots: SnapshotStore = remote === undefined
    ? store
    : new ClusterSnapshots(opts.store ?? ownStore!, log, opts.nodeId ?? 'clickplanet', 2 * (opts.snapshotIntervalMs ?? 60_000) + 5000,
      (names) => logger.info({ snapshots: names }, 'clickplanet: snapshots of earlier incarnations of the click stream deleted'))
  const projection = new Projection(map.tileCount)
  let scheduler: SnapshotScheduler | undefined
  let commands: ClickCommands | undefined
  let closing: Promise<void> | undefined
  const hub = new ListenerHub()
  let firstRestore = remote === undefined
  let fromSnapshot = 0
  // Where following starts: the snapshot the start chose; on a rebuild (the log trimmed past
  // the projection, or replaced), the newest snapshot of the log's current history, or empty.
  const restore = async (): Promise<void> => {
    let chosen: Snapshot | undefined
    if (firstRestore) {
      firstRestore = false
      if (useSnapshot && snapshot !== undefined) chosen = snapshot
    } else {
      const latest = await snapshots.load().catch((err: unknown) => {
        logger.error({ err }, 'clickplanet: snapshot unreadable, not used')
        return undefined
      })
      if (latest !== undefined && latest.mapChecksum === map.checksum &&
        snapshotFits(log, { logId: latest.logId ?? '', position: latest.position }, logger)) chosen = latest
    }
    if (chosen !== undefined) projection.restore(chosen)
    else projection.reset()
    fromSnapshot = projection.position
    if (scheduler !== undefined) scheduler.savedPosition = projection.position
  }
  // Reads come from the projection: if it stops following the log, new clicks would be
  // stored and acknowledged but never show. Refuse them (503) and say why instead.
  const projectionStopped = (err: unknown): void => {
    if (stopped !== undefined || closing !== undefined) return
    stopped = `the projection stopped at log position ${projection.position} (${err instanceof Error ? err.message : String(err)}); ` +
      'clicks are refused until the server restarts'
    logger.fatal({ err, position: projection.position }, 'clickplanet: projection stopped following the log')
    commands?.refuse(stopped)
    readiness?.failing(stopped)
  }
  const follower = new LogFollower({
    log, projection, restore, logger,
    onApplied: () => scheduler?.applied(),
    onStopped: projectionStopped,
    onRebuilt: () => {
      // What listeners were told and what caches hold belong to the old state: listeners
      // reconnect (1012) and read the map again.
      hub.closeAll(CloseCode.ServiceRestart)
      logger.warn({ position: projection.position }, 'clickplanet: projection rebuilt')
    },
  })
  if (remote === undefined) {
    try {
      await follower.start()
      await follower.caughtUp
    } catch (err) {
      follower.close()
      await log.close()
      throw err
    }
  } else {
    // JetStream may be down at start: the node serves (an empty planet, clicks 503) and
    // restores and follows once it is reachable.
    const begin = remote.whenReady.then(() => follower.start())
    begin.catch((err: unknown) => logger.error({ err }, 'clickplanet: could not start following the click stream'))
    // Reachable now: serve once caught up (bounded). Not reachable: serve degraded at once.
    if (await remote.ready(2000)) {
      await Promise.race([follower.caughtUp.catch(() => {}), new Promise((r) => setTimeout(r, opts.startWaitMs ?? 10_000).unref())])
    }
  }
  // The file log drops what a snapshot holds once that snapshot survives a crash, when the
  // part dropped outweighs a snapshot a few times (a snapshot is ~9 bytes per tile).
  const compactable = fileLog !== undefined && (opts.store ?? ownStore!).durableSnapshots === true ? fileLog : undefined
  const compactBytes = 4 * 9 * map.tileCount
  const intervalMs = opts.snapshotIntervalMs ?? 60_000
  /**
   * The stream may be trimmed through here: the position of the snapshot before the newest,
   * in the history (stream incarnation) both were taken of. A position of another history
   * means nothing to this one: trimming the new stream through it would drop clicks no
   * snapshot holds and move the stream's next position ahead.
   */
  let trimmable = { position: 0, logId: '' }
  scheduler = new SnapshotScheduler(projection, snapshots, map.checksum, {
    everyClicks: opts.snapshotEveryClicks ?? 100_000,
    intervalMs,
    logId: () => follower.historyId ?? log.id ?? '',
    ...(remote && {
      // The stream keeps what the previous snapshot does not hold: a node a little behind
      // the newest snapshot (its lag) keeps reading without a rebuild; one behind the
      // previous snapshot is told the stream was trimmed, and rebuilds from the newest.
      onSaved: (position: number, logId: string) => {
        const through = trimmable.logId === logId ? trimmable.position : 0
        trimmable = { position, logId }
        if (through <= 0) return
        remote.trimThrough(through, logId).then(
          (dropped) => { if (dropped > 0) logger.info({ position: through, dropped }, `clickplanet: trimmed the click stream: it starts after position ${through} now`) },
          (err: unknown) => logger.warn({ err, position: through }, 'clickplanet: trimming the click stream failed; it keeps what it had'),
        )
      },
    }),
    ...(compactable && {
      onSaved: (position: number) => {
        compactable.compact(position, compactBytes).then(
          (dropped) => {
            if (dropped > 0) logger.info({ position, dropped, kept: compactable.bytes }, `clickplanet: compacted the click log: it starts after position ${position} now`)
          },
          (err: unknown) => logger.warn({ err, position }, 'clickplanet: compacting the click log failed; it stays as it was'),
        )
      },
    }),
  }, logger)
  scheduler.savedPosition = fromSnapshot
  scheduler.applied()

  const applyWaitMs = opts.applyWaitMs ?? 5000
  commands = new ClickCommands(map, log, new RateLimiter(opts.clickRate, opts.clickBurst), (position) => follower.waitFor(position, applyWaitMs))
  if (stopped !== undefined) commands.refuse(stopped)
  const reads = new ReadModels(projection)
  projection.onChange((change) => hub.broadcast(change.bytes))
  const planet = new PlanetGame(commands, projection)
  const http = new HttpApi({
    map, commands, reads, logger,
    body: { maxBytes: opts.maxBodyBytes, discardBytes: opts.discardBodyBytes ?? 0 },
    responses: opts.responses ?? new LargeResponses(largeResponseLimits(defaultSettings())),
  })
  logger.info({
    tiles: map.tileCount, position: projection.position, replayed: projection.position - fromSnapshot,
    ms: Math.round(performance.now() - started), dataDir: opts.dataDir ?? null,
  }, 'clickplanet: ready')

  const sched = scheduler
  const cmds = commands
  const stats: ClickPlanetStats = {
    get clicksAccepted() { return cmds.counters.accepted },
    get clicksInvalid() { return cmds.counters.invalid },
    get clicksRateLimited() { return cmds.counters.rateLimited },
    get clicksFailed() { return cmds.counters.failed },
    get logFailures() { return fileLog?.failures ?? remote?.publishFailures ?? 0 },
    get snapshotFailures() { return sched.failures },
    get projectionStopped() { return stopped },
    get logPosition() { return projection.position },
    get snapshotPosition() { return sched.savedPosition },
    get snapshotSavedAt() { return sched.savedAt },
    get snapshotsSaved() { return sched.saves },
    get snapshotsSkipped() { return sched.skipped },
    get logLag() { return follower.lag },
    get logResubscribes() { return follower.resubscribes },
    get logRebuilds() { return follower.rebuilds },
    get publishFailures() { return remote?.publishFailures ?? 0 },
    get tiles() { return map.tileCount },
    get listeners() { return hub.size },
    get listenersDropped() { return hub.dropped },
    get listenerFramesSent() { return hub.sent },
    get listenerBroadcastMs() { return hub.lastBroadcastMs },
    get planet() { return planet.counters },
    get ownershipsRebuilds() { return reads.stats.rebuilds },
    get ownershipsRebuildMaxSliceMs() { return reads.stats.lastMaxSliceMs },
  }

  return {
    handleHttp: (req, res, url, clientAddress) => http.handle(req, res, url, clientAddress),
    isListenPath: (pathname) => LISTEN_PATHS.has(pathname),
    acceptListener: (conn) => hub.accept(conn),
    preset: planet,
    stats,
    map,
    close() {
      closing ??= (async () => {
        cmds.close()
        if (remote === undefined) {
          // The embedded log first: the final snapshot must not hold clicks the log lost.
          await log.close()
          follower.close()
          await sched.close()
        } else {
          // The stream outlives this node: snapshot what it applied, hand the writer role on.
          follower.close()
          await sched.close()
          if (snapshots instanceof ClusterSnapshots) await snapshots.release()
          await log.close()
        }
        await ownStore?.close()
        planet.detach()
        hub.closeAll(CloseCode.ServiceRestart)
      })()
      return closing
    },
  }
}

/**
 * Whether a snapshot can start a projection that then follows `log` (a log other than the
 * file log, which judges for itself): it must be of the log's history and not ahead of it.
 */
function snapshotFits(log: EventLog, ref: SnapshotRef | undefined, logger: Logger): boolean {
  if (ref === undefined) return false
  if (log.id !== undefined && ref.logId !== log.id) {
    logger.warn({ snapshot: ref.position, snapshotLog: ref.logId, log: log.id }, 'clickplanet: snapshot is of another log, ignored')
    return false
  }
  if (ref.position > log.head) {
    logger.error({ snapshot: ref.position, log: log.head }, 'clickplanet: snapshot ahead of the log, ignored')
    return false
  }
  return true
}
