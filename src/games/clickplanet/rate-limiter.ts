/**
 * Token buckets per key (a client address): `rate` tokens per second up to `burst`.
 * A rate of 0 disables limiting. Idle buckets (full again) are swept so the map stays as
 * small as the set of recently active clients.
 */
export class RateLimiter {
  readonly #rate: number
  readonly #burst: number
  readonly #now: () => number
  readonly #buckets = new Map<string, { tokens: number; at: number }>()
  #sweptAt = 0

  constructor(rate: number, burst: number, now: () => number = () => performance.now() / 1000) {
    this.#rate = Math.max(0, rate)
    this.#burst = Math.max(1, burst)
    this.#now = now
  }

  get enabled(): boolean { return this.#rate > 0 }

  /** Takes a token for `key`: 0 when allowed, else the seconds until a token is available. */
  take(key: string): number {
    if (this.#rate === 0) return 0
    const now = this.#now()
    if (now - this.#sweptAt > 10) this.#sweep(now)
    let b = this.#buckets.get(key)
    if (b === undefined) {
      b = { tokens: this.#burst, at: now }
      this.#buckets.set(key, b)
    } else {
      b.tokens = Math.min(this.#burst, b.tokens + (now - b.at) * this.#rate)
      b.at = now
    }
    if (b.tokens >= 1) {
      b.tokens -= 1
      return 0
    }
    return (1 - b.tokens) / this.#rate
  }

  #sweep(now: number): void {
    this.#sweptAt = now
    for (const [key, b] of this.#buckets) {
      if (b.tokens + (now - b.at) * this.#rate >= this.#burst) this.#buckets.delete(key)
    }
  }
}
