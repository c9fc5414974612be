/**
 * A fixed-size latency histogram in microseconds: exact below 2,048 µs, then 1,024 buckets per
 * power of two (≤ 0.1 % error) up to 2^31 µs. Recording is O(1) and allocates nothing, so it can
 * sit on the receive path of a load generator at any rate.
 */
const LINEAR = 2048
const SUB_BITS = 10
const SUB = 1 << SUB_BITS
const FIRST_EXP = 11 // log2(LINEAR)
const LAST_EXP = 31
const BUCKETS = LINEAR + (LAST_EXP - FIRST_EXP + 1) * SUB
const MAX_US = 2 ** (LAST_EXP + 1) - 1

export class LatencyHistogram {
  readonly #counts = new Float64Array(BUCKETS)
  #count = 0
  #maxUs = 0

  get count(): number {
    return this.#count
  }

  /** The largest recorded value, exact (not bucketed), in µs. */
  get maxUs(): number {
    return this.#maxUs
  }

  record(us: number): void {
    const v = us <= 0 ? 0 : us >= MAX_US ? MAX_US : Math.round(us)
    this.#counts[indexOf(v)]! += 1
    this.#count += 1
    if (us > this.#maxUs) this.#maxUs = us
  }

  /** Adds every value recorded in `other`. */
  merge(other: LatencyHistogram): void {
    const theirs = other.#counts
    for (let i = 0; i < BUCKETS; i++) this.#counts[i]! += theirs[i]!
    this.#count += other.#count
    if (other.#maxUs > this.#maxUs) this.#maxUs = other.#maxUs
  }

  /** The value at quantile `q` (0..1] in µs, the midpoint of its bucket; 0 when empty. */
  quantileUs(q: number): number {
    if (this.#count === 0) return 0
    const rank = Math.max(1, Math.ceil(q * this.#count))
    let seen = 0
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i]!
      if (seen >= rank) return Math.min(midpointOf(i), this.#maxUs)
    }
    return this.#maxUs
  }
}

function indexOf(v: number): number {
  if (v < LINEAR) return v
  const exp = 31 - Math.clz32(v)
  return LINEAR + (exp - FIRST_EXP) * SUB + ((v >>> (exp - SUB_BITS)) - SUB)
}

function midpointOf(i: number): number {
  if (i < LINEAR) return i
  const exp = FIRST_EXP + Math.floor((i - LINEAR) / SUB)
  const sub = (i - LINEAR) % SUB
  const width = 2 ** (exp - SUB_BITS)
  return (SUB + sub) * width + width / 2
}
