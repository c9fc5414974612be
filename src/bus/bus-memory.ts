import type { Bus, Subscription } from './bus.js'

/** The embedded default: subjects are in-process sets of handlers. */
export class MemoryBus implements Bus {
  #subjects = new Map<string, Set<(data: Uint8Array) => void>>()
  #closed = false

  publish(subject: string, data: Uint8Array): void {
    if (this.#closed) return
    const handlers = this.#subjects.get(subject)
    if (!handlers || handlers.size === 0) return
    // Snapshot now (publish-time subscribers), deliver after the caller returns.
    const targets = [...handlers]
    queueMicrotask(() => {
      for (const h of targets) if (handlers.has(h)) h(data)
    })
  }

  subscribe(subject: string, handler: (data: Uint8Array) => void): Subscription {
    let set = this.#subjects.get(subject)
    if (!set) this.#subjects.set(subject, (set = new Set()))
    // Wrap so that the same function subscribed twice counts twice.
    const own = (data: Uint8Array): void => handler(data)
    set.add(own)
    return {
      unsubscribe: () => {
        set.delete(own)
        if (set.size === 0 && this.#subjects.get(subject) === set) this.#subjects.delete(subject)
      },
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#subjects.clear()
  }
}
