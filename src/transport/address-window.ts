/**
 * Counts events per client address in fixed one-minute windows. A window starts at an
 * address's first event and lasts `windowMs`; when it has passed, the count starts over.
 * Used for the join throttle (failed joins and unknown-code lookups) and room creation.
 */
export class AddressWindow {
  #counts = new Map<string, { start: number; count: number }>()
  #limit: number
  #windowMs: number
  #now: () => number
  #lastSweep = 0

  constructor(limit: number, windowMs = 60_000, now: () => number = Date.now) {
    this.#limit = limit
    this.#windowMs = windowMs
    this.#now = now
  }

  /** True while `address` has used up its events for the current window. */
  exhausted(address: string): boolean {
    const entry = this.#entry(address, false)
    return entry !== undefined && entry.count >= this.#limit
  }

  /** Count one event; false if the window was already exhausted (the event is refused). */
  take(address: string): boolean {
    const entry = this.#entry(address, true)!
    if (entry.count >= this.#limit) return false
    entry.count++
    return true
  }

  #entry(address: string, create: boolean): { start: number; count: number } | undefined {
    const now = this.#now()
    this.#sweep(now)
    let entry = this.#counts.get(address)
    if (entry && now - entry.start >= this.#windowMs) {
      this.#counts.delete(address)
      entry = undefined
    }
    if (!entry && create) this.#counts.set(address, (entry = { start: now, count: 0 }))
    return entry
  }

  /** Forget finished windows once per window, so memory follows the active addresses. */
  #sweep(now: number): void {
    if (now - this.#lastSweep < this.#windowMs) return
    this.#lastSweep = now
    for (const [address, entry] of this.#counts) if (now - entry.start >= this.#windowMs) this.#counts.delete(address)
  }
}
