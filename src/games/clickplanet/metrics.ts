/**
 * ClickPlanet's counters as Prometheus metrics. Nothing is counted twice: collect() reads
 * `ClickPlanet.stats` at scrape time, so a click costs no more than the plain number it
 * already bumps.
 */
import { Counter, Gauge, type Registry } from 'prom-client'
import type { ClickPlanetStats } from './index.js'

type Read = () => Iterable<readonly [string, number]>

/**
 * Registers the `partyline_clickplanet_*` metrics in `registry` (the server's, next to its
 * own `partyline_*` ones). Call once per registry.
 * @example registerClickPlanetMetrics(metrics.registry, clickplanet)
 */
export function registerClickPlanetMetrics(registry: Registry, planet: { readonly stats: ClickPlanetStats }): void {
  const s = (): ClickPlanetStats => planet.stats
  counter(registry, 'partyline_clickplanet_clicks_total',
    'Clicks by outcome, HTTP and room PLANET together (failed: not stored, or refused while shutting down or with the projection stopped).',
    'outcome', () => [
      ['accepted', s().clicksAccepted], ['invalid', s().clicksInvalid],
      ['rate_limited', s().clicksRateLimited], ['failed', s().clicksFailed],
    ])
  counter(registry, 'partyline_clickplanet_planet_frames_dropped_total',
    'Frames from PLANET players that did not become clicks, by reason.',
    'reason', () => {
      const p = s().planet
      return [['text', p.text], ['undecodable', p.undecodable], ['invalid', p.invalid], ['rate_limited', p.rateLimited], ['failed', p.failed]]
    })
  counter(registry, 'partyline_clickplanet_planet_updates_total', 'UpdateNotifications sent to room PLANET (one send each, whatever the player count).',
    undefined, () => [['', s().planet.updatesSent]])
  counter(registry, 'partyline_clickplanet_listener_frames_total', 'UpdateNotification frames sent to /ws/listen sockets (one per socket per update).',
    undefined, () => [['', s().listenerFramesSent]])
  counter(registry, 'partyline_clickplanet_listeners_dropped_total', '/ws/listen sockets closed with 1013 for reading too slowly.',
    undefined, () => [['', s().listenersDropped]])
  counter(registry, 'partyline_clickplanet_ownerships_rebuilds_total', 'Rebuilds of the full ownerships answer (one per change that someone read).',
    undefined, () => [['', s().ownershipsRebuilds]])
  counter(registry, 'partyline_clickplanet_log_failures_total', 'Writes of the click log that failed (each refused its clicks with 503; the log retries until it writes again).',
    undefined, () => [['', s().logFailures]])
  counter(registry, 'partyline_clickplanet_snapshot_failures_total', 'Snapshots that could not be saved (the previous one stayed in place).',
    undefined, () => [['', s().snapshotFailures]])
  counter(registry, 'partyline_clickplanet_publish_failures_total', 'Clicks the JetStream stream did not acknowledge, or refused (503) while it was unreachable (cluster only).',
    undefined, () => [['', s().publishFailures]])
  counter(registry, 'partyline_clickplanet_snapshots_total', 'Snapshot saves by outcome: saved by this node, or skipped (another node writes them, or a newer one is stored).',
    'outcome', () => [['saved', s().snapshotsSaved], ['skipped', s().snapshotsSkipped]])
  counter(registry, 'partyline_clickplanet_log_resubscribes_total', 'Times this node subscribed to the click log again after delivery stopped (NATS lost and back).',
    undefined, () => [['', s().logResubscribes]])
  counter(registry, 'partyline_clickplanet_log_rebuilds_total', 'Times this node rebuilt its projection: the click stream was trimmed past it or replaced.',
    undefined, () => [['', s().logRebuilds]])
  gauge(registry, 'partyline_clickplanet_stream_lag', 'Clicks the log holds that this node has not applied yet (its lag behind the stream).', () => s().logLag)
  gauge(registry, 'partyline_clickplanet_snapshot_age_seconds', 'Seconds since this node last saved a snapshot (-1: it has not saved one).',
    () => (s().snapshotSavedAt === 0 ? -1 : (Date.now() - s().snapshotSavedAt) / 1000))
  gauge(registry, 'partyline_clickplanet_listeners', 'Open /ws/listen sockets.', () => s().listeners)
  gauge(registry, 'partyline_clickplanet_listener_broadcast_seconds', 'How long the last update took to write to every /ws/listen socket.',
    () => s().listenerBroadcastMs / 1000)
  gauge(registry, 'partyline_clickplanet_log_position', 'Log position of the last click the projection applied.', () => s().logPosition)
  gauge(registry, 'partyline_clickplanet_snapshot_position', 'Log position of the last snapshot saved.', () => s().snapshotPosition)
  gauge(registry, 'partyline_clickplanet_projection_stopped', '1 when the projection stopped following the log (clicks are then refused with 503).',
    () => (s().projectionStopped === undefined ? 0 : 1))
  gauge(registry, 'partyline_clickplanet_ownerships_rebuild_block_seconds',
    'Longest stretch the last ownerships rebuild held the event loop.', () => s().ownershipsRebuildMaxSliceMs / 1000)
}

function counter(registry: Registry, name: string, help: string, label: string | undefined, read: Read): void {
  new Counter({
    name,
    help,
    labelNames: label === undefined ? [] : [label],
    registers: [registry],
    collect() {
      this.reset()
      for (const [value, n] of read()) {
        if (label === undefined) this.inc(n)
        else this.inc({ [label]: value }, n)
      }
    },
  })
}

function gauge(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({ name, help, registers: [registry], collect() { this.set(read()) } })
}
