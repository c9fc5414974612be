import { CloseCode } from '../../errors.js'
import type { Connection } from '../../transport/connection.js'
import { frameBatch, type WireFrame } from '../../transport/wire-frame.js'

/**
 * Sockets written per event-loop turn in a fan-out. Writing to a socket costs about 8 µs
 * (mostly the kernel's TCP path), so a turn holds the loop for a few milliseconds at most
 * and party rooms on the same loop keep their latency while thousands of listeners are fed.
 */
export const FAN_OUT_SLICE = 500

/**
 * The `/ws/listen` sockets. Each update is framed once and the same buffer goes to every
 * socket (see transport/wire-frame.ts); a socket that does not keep up is closed with 1013
 * by its Connection and forgotten at once, so a slow reader costs nobody else anything.
 *
 * A fan-out to more than FAN_OUT_SLICE sockets is spread over several turns. Updates that
 * arrive meanwhile wait and go out together in the next fan-out (one write per socket for
 * all of them), which starts only when the current one has reached every socket: each
 * listener receives the updates in the order they were made. A listener that joins during a
 * fan-out may receive the update in progress, made just before it joined.
 */
export class ListenerHub {
  readonly #listeners = new Set<Connection>()
  readonly #slice: number
  /** Updates made while a fan-out was in progress, in order. */
  #pending: Uint8Array[] = []
  /** The fan-out in progress: its frames and its place in the set. */
  #frame: WireFrame | undefined
  #cursor: Iterator<Connection> | undefined
  #startedAt = 0
  #sliceStartedAt = 0
  #maxSlice = 0
  #continue = (): void => this.#write()
  #next = (): void => this.#start()
  dropped = 0
  sent = 0
  /** How long the last fan-out took to reach every socket, in ms, from start to end (over turns). */
  lastBroadcastMs = 0
  /** The longest the last fan-out held the event loop in one turn, in ms. */
  lastBroadcastMaxSliceMs = 0

  /** `slice`: sockets written per event-loop turn (tests make it small). */
  constructor(slice = FAN_OUT_SLICE) {
    this.#slice = slice
  }

  get size(): number { return this.#listeners.size }

  accept(conn: Connection): void {
    const ws = conn.ws
    if (ws.readyState !== ws.OPEN) return
    this.#listeners.add(conn)
    conn.onClose = () => this.#listeners.delete(conn)
    // Client frames carry nothing; ws answers pings itself.
    ws.on('message', ignore)
  }

  broadcast(bytes: Uint8Array): void {
    this.#pending.push(bytes)
    if (this.#frame === undefined) this.#start()
  }

  closeAll(code: CloseCode): void {
    this.#frame = undefined
    this.#cursor = undefined
    this.#pending = []
    for (const conn of this.#listeners) conn.close(code)
    this.#listeners.clear()
  }

  #start(): void {
    if (this.#pending.length === 0 || this.#frame !== undefined) return
    this.#frame = frameBatch(this.#pending)
    this.#pending = []
    this.#cursor = this.#listeners.values()
    this.#startedAt = performance.now()
    this.#maxSlice = 0
    this.#write()
  }

  /** Writes the fan-out in progress to the next slice of sockets. */
  #write(): void {
    const frame = this.#frame
    const cursor = this.#cursor
    if (frame === undefined || cursor === undefined) return
    this.#sliceStartedAt = performance.now()
    for (let n = 0; n < this.#slice; n++) {
      const next = cursor.next()
      if (next.done) return this.#finish()
      const conn = next.value
      if (conn.sendFramed(frame)) {
        this.sent += frame.frames
      } else {
        // Closing: too slow (1013, counted here) or already on its way out.
        if (conn.closeCode === CloseCode.TryAgainLater) this.dropped++
        this.#listeners.delete(conn)
      }
    }
    this.#endSlice()
    setImmediate(this.#continue)
  }

  #endSlice(): void {
    this.#maxSlice = Math.max(this.#maxSlice, performance.now() - this.#sliceStartedAt)
  }

  #finish(): void {
    this.#endSlice()
    this.lastBroadcastMs = performance.now() - this.#startedAt
    this.lastBroadcastMaxSliceMs = this.#maxSlice
    this.#frame = undefined
    this.#cursor = undefined
    // The next fan-out (what arrived meanwhile) starts on a later turn: this one had its share.
    if (this.#pending.length > 0) setImmediate(this.#next)
  }
}

function ignore(): void {}
