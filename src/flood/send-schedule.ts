/** Something that sends at a steady rate: `fire` is called about every `periodMs`. */
export interface PacedSender {
  /** When it is due next (`performance.now()` time); owned by the schedule. */
  due: number
  readonly periodMs: number
  fire(now: number): void
}

/**
 * One timer for any number of paced senders: a min-heap on due time, drained by a 1 ms tick.
 * Each sender starts at a random phase so a thousand 20 Hz hosts do not all fire in the same
 * millisecond. A sender that falls more than `maxLagMs` behind (the generator is overloaded)
 * skips what it missed instead of bursting; skips are counted in `lateSends`.
 */
export class SendSchedule {
  readonly #heap: PacedSender[] = []
  readonly #maxLagMs: number
  readonly #maxFiresPerTick: number
  #timer: NodeJS.Timeout | undefined
  #lateSends = 0

  constructor(options: { maxLagMs?: number; maxFiresPerTick?: number } = {}) {
    this.#maxLagMs = options.maxLagMs ?? 100
    this.#maxFiresPerTick = options.maxFiresPerTick ?? 100_000
  }

  /** Sends skipped because the generator was more than `maxLagMs` behind. */
  get lateSends(): number {
    return this.#lateSends
  }

  add(sender: PacedSender): void {
    this.#heap.push(sender)
  }

  /** (Re)starts every sender at a random phase within its period, e.g. after a rate change. */
  start(): void {
    const now = performance.now()
    for (const sender of this.#heap) sender.due = now + Math.random() * sender.periodMs
    this.#heap.sort((a, b) => a.due - b.due)
    this.#timer ??= setInterval(() => this.#runDue(performance.now()), 1)
  }

  stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  #runDue(now: number): void {
    const heap = this.#heap
    for (let fired = 0; fired < this.#maxFiresPerTick && heap.length > 0; fired++) {
      const top = heap[0]!
      if (top.due > now) return
      top.fire(now)
      const period = top.periodMs
      top.due += period
      if (top.due < now - this.#maxLagMs) {
        this.#lateSends += Math.floor((now - top.due) / period)
        top.due = now + period
      }
      siftDown(heap, 0)
    }
  }
}

function siftDown(heap: PacedSender[], from: number): void {
  const n = heap.length
  const item = heap[from]!
  let i = from
  for (;;) {
    const left = 2 * i + 1
    if (left >= n) break
    const right = left + 1
    const child = right < n && heap[right]!.due < heap[left]!.due ? right : left
    if (heap[child]!.due >= item.due) break
    heap[i] = heap[child]!
    i = child
  }
  heap[i] = item
}
