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
 */
export interface Bus {
  publish(subject: string, data: Uint8Array): void
  subscribe(subject: string, handler: (data: Uint8Array) => void): Subscription
  close(): Promise<void>
}

export interface Subscription {
  unsubscribe(): void
}
