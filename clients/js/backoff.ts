/**
 * When to try again after a connection dropped: exponential backoff with jitter, bounded
 * on both sides so that a phone comes back fast and a server that is down is not hammered.
 */

/** How a client reconnects; every field has a default (`DEFAULT_RECONNECT`). */
export interface ReconnectPolicy {
  /** Shortest wait before any attempt, in ms. Never below 250: a client never retries faster. */
  readonly minDelayMs: number
  /** Longest wait before the first attempt, in ms (the first try comes within a second). */
  readonly firstDelayMs: number
  /** Longest wait between two attempts, however many failed, in ms. */
  readonly maxDelayMs: number
  /**
   * Frames (or host commands) kept while reconnecting, sent in order once the connection is
   * back. A send past this bound is refused (`ClientErrorCode.QueueFull`), never dropped silently.
   */
  readonly maxQueued: number
}

/** The floor no option can lower: attempts are at least this far apart. */
export const MIN_RECONNECT_DELAY_MS = 250

export const DEFAULT_RECONNECT: ReconnectPolicy = {
  minDelayMs: MIN_RECONNECT_DELAY_MS,
  firstDelayMs: 1000,
  maxDelayMs: 5000,
  maxQueued: 256,
}

/**
 * `DEFAULT_RECONNECT` with `options` over it, clamped so the floor and order hold.
 *
 * @example
 * ```ts
 * reconnectPolicy({ maxDelayMs: 2000 }) // { minDelayMs: 250, firstDelayMs: 1000, maxDelayMs: 2000, maxQueued: 256 }
 * ```
 */
export function reconnectPolicy(options: Partial<ReconnectPolicy> = {}): ReconnectPolicy {
  const p = { ...DEFAULT_RECONNECT, ...options }
  const minDelayMs = Math.max(MIN_RECONNECT_DELAY_MS, p.minDelayMs)
  const firstDelayMs = Math.max(minDelayMs, p.firstDelayMs)
  return { minDelayMs, firstDelayMs, maxDelayMs: Math.max(firstDelayMs, p.maxDelayMs), maxQueued: Math.max(0, p.maxQueued) }
}

/**
 * The wait before reconnection attempt `attempt` (1 for the first): uniformly random
 * between `minDelayMs` and a ceiling that starts at `firstDelayMs` and doubles per failed
 * attempt up to `maxDelayMs` ("full jitter" above the floor, so phones that dropped together
 * do not come back together).
 *
 * @example
 * ```ts
 * reconnectDelay(1)          // somewhere in 250…1000 ms
 * reconnectDelay(6)          // somewhere in 250…5000 ms
 * reconnectDelay(1, () => 0) // 250: the floor
 * ```
 */
export function reconnectDelay(attempt: number, random: () => number = Math.random, policy: ReconnectPolicy = DEFAULT_RECONNECT): number {
  const n = Math.max(1, Math.floor(attempt))
  // 2 ** 30 is far past any ceiling; capping the exponent keeps the number finite.
  const ceiling = Math.min(policy.maxDelayMs, policy.firstDelayMs * 2 ** Math.min(n - 1, 30))
  const r = Math.min(Math.max(random(), 0), 1)
  return Math.round(policy.minDelayMs + r * (ceiling - policy.minDelayMs))
}
