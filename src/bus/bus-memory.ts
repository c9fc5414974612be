import { BusCounters, checkSubject, isSubject, type Bus, type Subscription } from './bus.js'

type Handler = (data: Uint8Array) => void

/** Buses that see each other's messages: in-process nodes of one cluster (tests, a demo). */
export class MemoryBusHub {
  readonly members = new Set<MemoryBus>()
}

/** The embedded default: subjects are in-process sets of handlers. */
export class MemoryBus implements Bus {
  readonly stats = new BusCounters()
  #subjects = new Map<string, Set<Handler>>()
  #closed = false
  readonly #hub: MemoryBusHub

  /** A bus alone, or one node of `hub`. */
  constructor(hub = new MemoryBusHub()) {
    this.#hub = hub
    hub.members.add(this)
  }

  publish(subject: string, data: Uint8Array): void {
    if (this.#closed || !isSubject(subject)) {
      this.stats.dropped++
      return
    }
    this.stats.published++
    this.stats.bytesOut += data.length
    for (const bus of this.#hub.members) bus.#receive(subject, data)
  }

  #receive(subject: string, data: Uint8Array): void {
    const handlers = this.#subjects.get(subject)
    if (!handlers || handlers.size === 0) return
    this.stats.received++
    this.stats.bytesIn += data.length
    // Snapshot now (publish-time subscribers), deliver after the caller returns.
    const targets = [...handlers]
    queueMicrotask(() => {
      for (const h of targets) if (handlers.has(h)) h(data)
    })
  }

  subscribe(subject: string, handler: Handler): Subscription {
    checkSubject(subject)
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
    this.#hub.members.delete(this)
  }
}
