/**
 * How long a freed room code stays out of circulation, so the cooldown never becomes a
 * lock-out.
 *
 * A freed code cools down (`PARTYLINE_CODE_COOLDOWN_MS`, 10 minutes by default) so a late
 * phone never lands in a stranger's room. But the space is small (23^4 = 279,841 codes): rooms
 * created and dropped fast enough keep every code cooling, and then nobody gets a room for ten
 * minutes. Codes could grow longer when the space runs low, but the original WMBP JavaScript
 * client refuses any code whose length is not 4, so codes stay four letters and the cooldown
 * gives way instead: the fuller the space, the shorter the cooldown of a code freed now.
 *
 * How full the space is comes from the draws themselves (a random code found live or cooling
 * is "taken"), as a moving average over about the last `WINDOW` draws: that estimate works the
 * same against a shared directory in a cluster, where no node knows the whole space. Up to
 * `CALM` taken the cooldown is the configured one; from there it shrinks linearly to
 * `FLOOR_MS` (or the configured cooldown, if shorter) at `FULL`. If codes are freed at rate r,
 * at most r × cooldown of them cool at once: codes freed before the pressure built up keep
 * their long cooldown (about `CALM` of the space at most), the rest cycle at the floor, so
 * for any rate where r × FLOOR_MS is well under half the space (20 rooms a second is 1,200
 * codes) the space settles around half full and a draw finds a free code one time in two.
 * One node at the default global creation limit fills 4 % of the space: the cooldown only
 * gives way when many nodes, or a raised limit, drain it.
 */
export const CALM = 0.25
export const FULL = 0.5
export const FLOOR_MS = 60_000
const WINDOW = 64

export class CodeCooldown {
  readonly #baseMs: number
  #taken = 0

  constructor(baseMs: number) {
    this.#baseMs = baseMs
  }

  /** Record one draw: its code was live or cooling (`taken`), or free. */
  drew(taken: boolean): void {
    this.#taken += ((taken ? 1 : 0) - this.#taken) / WINDOW
  }

  /** The estimated share of codes that are live or cooling, 0 to 1. */
  get occupancy(): number {
    return this.#taken
  }

  /** The cooldown of a code freed now, in ms. */
  cooldownMs(): number {
    const base = this.#baseMs
    if (this.#taken <= CALM) return base
    const floor = Math.min(base, FLOOR_MS)
    return Math.max(floor, Math.round((base * (FULL - this.#taken)) / (FULL - CALM)))
  }
}
