/**
 * The Bus: room traffic between nodes.
 *
 * Contract (every implementation passes test/bus/bus-contract.ts):
 * - at-most-once: a message published while nobody subscribes is gone; a slow or failed
 *   bus drops rather than blocks the publisher (publish never throws, never waits).
 * - order: messages from one publisher on one subject arrive in publish order.
 * - delivery is asynchronous: `publish` never calls a handler before it returns, so a
 *   handler can never re-enter the publisher (a room's mailbox stays strictly ordered).
 * - every subscriber of a subject gets every message; `unsubscribe` stops delivery at once.
 * On one node the traffic of a room never leaves the process and does not use the bus;
 * with scale-out, a player connected to another node is bridged over one subject per node.
 *
 * Cluster contract (test/bus/bus-cluster-contract.ts), for buses of several nodes on one
 * network (one NATS, or one `MemoryBusHub` in a process):
 * - a message published on one node reaches the subscribers of every node (its own too),
 *   in publish order per publisher and subject; closing one node's bus stops only its own
 *   subscriptions and publishes.
 * - subjects are dot-separated tokens of `[A-Za-z0-9_-]` (`room.ABCD`, `node.n1`):
 *   `subscribe` to anything else throws a TypeError; `publish` to it drops the message.
 * - while the network is unreachable, publishes are dropped and counted (never queued
 *   without bound, never blocking); subscriptions come back by themselves when it is back
 *   (messages published meanwhile are gone). Nothing is ever redelivered.
 * - `stats` counts what this node published, received, and dropped, with payload bytes.
 */
export interface Bus {
  publish(subject: string, data: Uint8Array): void
  subscribe(subject: string, handler: (data: Uint8Array) => void): Subscription
  /** Counters since this bus was made (read at scrape time). */
  readonly stats: BusStats
  close(): Promise<void>
}

export interface Subscription {
  unsubscribe(): void
}

export interface BusStats {
  /** Messages handed to the network by `publish`. */
  readonly published: number
  readonly bytesOut: number
  /** Messages that reached this node's subscriptions (once per subject, not per handler). */
  readonly received: number
  readonly bytesIn: number
  /** Messages `publish` dropped: network unreachable, bus closed, bad subject, too large. */
  readonly dropped: number
}

const SUBJECT = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/

export function isSubject(subject: string): boolean {
  return subject.length <= 256 && SUBJECT.test(subject)
}

/** @throws TypeError when `subject` is not dot-separated tokens of [A-Za-z0-9_-]. */
export function checkSubject(subject: string): void {
  if (!isSubject(subject)) throw new TypeError(`bus subject ${JSON.stringify(subject)} is not dot-separated tokens of [A-Za-z0-9_-] (at most 256 characters)`)
}

/** Mutable counters behind `BusStats`. */
export class BusCounters implements BusStats {
  published = 0
  bytesOut = 0
  received = 0
  bytesIn = 0
  dropped = 0
}
