/**
 * How many WebSocket connections the server holds, per address and role and in all, and
 * whether one more may come in. Checked before the WebSocket handshake, so a refusal costs
 * one HTTP answer: no `WebSocket`, no session, no descriptor kept (see ws-gateway.ts).
 *
 * A connection counts from its admission until its socket has closed (a closing socket
 * still holds a descriptor). Plain HTTP requests are not counted: the descriptors between
 * the total cap and the process's limit are theirs (`/healthz`, `/metrics`, the API).
 */
import type { Role } from '../metrics.js'

export type RefusalReason = 'per-address' | 'server-full' | 'join-throttled'

export interface Refusal {
  readonly status: 429 | 503
  readonly reason: RefusalReason
  /** What the client is told (in the body), naming the limit. */
  readonly message: string
}

export interface BudgetLimits {
  /** Connections one address may hold in each role. */
  readonly perAddress: Readonly<Record<Role, number>>
  /** Connections in all; `Infinity` for no cap. */
  readonly total: number
}

const ROLE_INDEX: Readonly<Record<Role, 0 | 1 | 2>> = { host: 0, player: 1, listener: 2 }

export class ConnectionBudget {
  readonly limits: BudgetLimits
  /** Per address: open connections by role (host, player, listener). */
  #byAddress = new Map<string, [number, number, number]>()
  #open = 0

  constructor(limits: BudgetLimits) {
    this.limits = limits
  }

  get open(): number {
    return this.#open
  }

  /** Counts the connection in and returns undefined, or returns why it is refused. */
  admit(address: string, role: Role): Refusal | undefined {
    if (this.#open >= this.limits.total) {
      return { status: 503, reason: 'server-full', message: `the server holds its most connections (${this.limits.total}); retry later` }
    }
    const counts = this.#byAddress.get(address)
    const i = ROLE_INDEX[role]
    const limit = this.limits.perAddress[role]
    if ((counts?.[i] ?? 0) >= limit) {
      return { status: 429, reason: 'per-address', message: `too many ${role} connections from this address (at most ${limit}); close one first` }
    }
    if (counts) counts[i]++
    else {
      const fresh: [number, number, number] = [0, 0, 0]
      fresh[i] = 1
      this.#byAddress.set(address, fresh)
    }
    this.#open++
    return undefined
  }

  /** The admitted connection's socket has closed. */
  release(address: string, role: Role): void {
    const counts = this.#byAddress.get(address)
    const i = ROLE_INDEX[role]
    if (!counts || counts[i] === 0) return
    counts[i]--
    this.#open--
    if (counts[0] === 0 && counts[1] === 0 && counts[2] === 0) this.#byAddress.delete(address)
  }
}
