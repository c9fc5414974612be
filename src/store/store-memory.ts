import type { RoomRecord, Store } from './store.js'

/** The embedded default: everything in this process's memory. */
export class MemoryStore implements Store {
  #owners = new Map<string, string>()
  /** code → time (ms) when its cooldown ends. */
  #cooling = new Map<string, number>()
  #records = new Map<string, RoomRecord>()
  #now: () => number

  constructor(now: () => number = Date.now) {
    this.#now = now
  }

  async reserveCode(code: string, node: string): Promise<boolean> {
    if (this.#owners.has(code)) return false
    const until = this.#cooling.get(code)
    if (until !== undefined) {
      if (until > this.#now()) return false
      this.#cooling.delete(code)
    }
    this.#owners.set(code, node)
    return true
  }

  async lookupCode(code: string): Promise<string | undefined> {
    return this.#owners.get(code)
  }

  async releaseCode(code: string, cooldownMs: number): Promise<void> {
    if (!this.#owners.delete(code)) return
    if (cooldownMs > 0) this.#cooling.set(code, this.#now() + cooldownMs)
    this.#sweep()
  }

  async saveRoom(record: RoomRecord): Promise<void> {
    this.#records.set(record.key, structuredClone(record))
  }

  async loadRoom(code: string): Promise<RoomRecord | undefined> {
    const r = this.#records.get(code)
    return r && structuredClone(r)
  }

  async deleteRoom(code: string): Promise<void> {
    this.#records.delete(code)
  }

  async close(): Promise<void> {}

  /** Forget expired cooldowns so the map stays as small as the recent churn. */
  #sweep(): void {
    if (this.#cooling.size < 1024) return
    const now = this.#now()
    for (const [code, until] of this.#cooling) if (until <= now) this.#cooling.delete(code)
  }
}
