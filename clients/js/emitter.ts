/** A minimal typed event emitter that runs in browsers and Node alike. */
export class Emitter<Events extends Record<string, (...args: never[]) => void>> {
  #handlers = new Map<keyof Events, Set<Events[keyof Events]>>()

  on<K extends keyof Events>(event: K, handler: Events[K]): this {
    let set = this.#handlers.get(event)
    if (!set) this.#handlers.set(event, (set = new Set()))
    set.add(handler)
    return this
  }

  off<K extends keyof Events>(event: K, handler: Events[K]): this {
    this.#handlers.get(event)?.delete(handler)
    return this
  }

  /** Resolves with the arguments of the next `event`. */
  once<K extends keyof Events>(event: K): Promise<Parameters<Events[K]>> {
    return new Promise((resolve) => {
      const h = ((...args: Parameters<Events[K]>) => {
        this.off(event, h)
        resolve(args)
      }) as unknown as Events[K]
      this.on(event, h)
    })
  }

  protected emit<K extends keyof Events>(event: K, ...args: Parameters<Events[K]>): void {
    const set = this.#handlers.get(event)
    if (!set) return
    for (const h of [...set]) (h as (...a: Parameters<Events[K]>) => void)(...args)
  }
}
