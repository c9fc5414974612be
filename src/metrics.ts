/**
 * Server metrics. The hot path bumps plain numbers (no label lookup per frame); prom-client
 * reads them at scrape time through `collect`, so metrics cost nothing between scrapes.
 */
import { Counter, Gauge, Registry } from 'prom-client'

export type Role = 'host' | 'player' | 'listener'
export type Direction = 'in' | 'out'

export class ServerMetrics {
  readonly registry = new Registry()
  readonly connections: Record<Role, number> = { host: 0, player: 0, listener: 0 }
  readonly frames: Record<Direction, number> = { in: 0, out: 0 }
  readonly bytes: Record<Direction, number> = { in: 0, out: 0 }
  readonly drops = new Map<string, number>()
  readonly closes = new Map<number, number>()
  /** Upgrades refused before the handshake, by `reason role` (see ConnectionBudget). */
  readonly refusals = new Map<string, number>()
  /** Server-initiated closes whose socket was cut because the closing handshake did not end in time. */
  closesCut = 0
  /** Times a connection passed its inbound frame budget and was not read until the next tick. */
  inboundHeld = 0

  constructor(sources: {
    rooms: () => number
    mailboxDepth: () => number
    /** Each readiness component and whether it is ok now. */
    components?: () => Iterable<readonly [string, boolean]>
  }) {
    const self = this
    new Gauge({
      name: 'partyline_connections',
      help: 'Open WebSocket connections by role.',
      labelNames: ['role'],
      registers: [this.registry],
      collect() {
        for (const role of Object.keys(self.connections) as Role[]) this.set({ role }, self.connections[role])
      },
    })
    new Gauge({
      name: 'partyline_rooms',
      help: 'Live rooms on this node (preset rooms included).',
      registers: [this.registry],
      collect() {
        this.set(sources.rooms())
      },
    })
    new Gauge({
      name: 'partyline_mailbox_depth_max',
      help: 'Deepest room mailbox since the previous scrape (events queued behind the one being handled).',
      registers: [this.registry],
      collect() {
        this.set(sources.mailboxDepth())
      },
    })
    new Gauge({
      name: 'partyline_ready',
      help: 'Whether each part this node depends on works now (1) or fails (0); see /readyz.',
      labelNames: ['component'],
      registers: [this.registry],
      collect() {
        this.reset()
        for (const [component, ok] of sources.components?.() ?? []) this.set({ component }, ok ? 1 : 0)
      },
    })
    counterFrom(this.registry, 'partyline_frames_total', 'WebSocket frames by direction (in = received).', 'direction', () => Object.entries(this.frames))
    counterFrom(this.registry, 'partyline_bytes_total', 'WebSocket payload bytes by direction.', 'direction', () => Object.entries(this.bytes))
    counterFrom(this.registry, 'partyline_drops_total', 'Frames dropped, by reason.', 'reason', () => [...this.drops])
    new Counter({
      name: 'partyline_connections_refused_total',
      help: 'WebSocket upgrades refused before the handshake (HTTP 429 per-address, 503 server-full), by reason and role.',
      labelNames: ['reason', 'role'],
      registers: [this.registry],
      collect() {
        this.reset()
        for (const [key, n] of self.refusals) {
          const [reason, role] = key.split(' ') as [string, string]
          this.inc({ reason, role }, n)
        }
      },
    })
    new Counter({
      name: 'partyline_closes_cut_total',
      help: 'Connections the server closed whose peer did not finish the closing handshake in time (the socket was cut).',
      registers: [this.registry],
      collect() {
        this.reset()
        this.inc(self.closesCut)
      },
    })
    new Counter({
      name: 'partyline_inbound_held_total',
      help: 'Times a connection sent more frames than its role may per second and was not read until the next tick.',
      registers: [this.registry],
      collect() {
        this.reset()
        this.inc(self.inboundHeld)
      },
    })
    counterFrom(this.registry, 'partyline_closes_total', 'Connections closed by the server, by close code.', 'code', () =>
      [...this.closes].map(([k, v]) => [String(k), v] as const),
    )
  }

  drop(reason: string, count = 1): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + count)
  }

  refused(reason: string, role: Role): void {
    const key = `${reason} ${role}`
    this.refusals.set(key, (this.refusals.get(key) ?? 0) + 1)
  }

  closed(code: number): void {
    this.closes.set(code, (this.closes.get(code) ?? 0) + 1)
  }
}

/** A counter whose values are read from the caller's plain numbers at scrape time. */
function counterFrom(
  registry: Registry,
  name: string,
  help: string,
  label: string,
  read: () => Iterable<readonly [string, number]>,
): void {
  new Counter({
    name,
    help,
    labelNames: [label],
    registers: [registry],
    collect() {
      this.reset()
      for (const [value, n] of read()) this.inc({ [label]: value }, n)
    },
  })
}
