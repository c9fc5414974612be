import { isUtf8 } from 'node:buffer'

/**
 * A pre-decode check for host frames, run before any byte reaches cbor-x.
 *
 * cbor-x trusts what a frame declares: it preallocates for declared lengths, recurses without a
 * depth limit, and gives its private tags (records, structures, packed values) a meaning. The
 * guard walks the encoded item without building anything, so that a frame accepted here costs
 * the decoder no more than its own size, and a refused one has cost O(its size) to refuse.
 */

/** Limits the guard applies on top of well-formedness. */
export interface CborLimits {
  /**
   * Deepest nesting of arrays and maps (definite or indefinite) allowed. A top-level map is at
   * depth 1, so a host message `{cmd, to: [...]}` needs 2. Must be a non-negative integer.
   */
  maxDepth: number
  /**
   * Most arrays and maps, definite or indefinite, in the whole item (unbounded when absent).
   * Decoding a container costs far more than its one byte: a 1 MiB frame of empty arrays takes
   * cbor-x about 190 ms, where a host message holds three containers at most.
   */
  maxContainers?: number
  /**
   * Most map entries (key-value pairs) over all maps of the item (unbounded when absent): a map
   * of 120,000 keys takes cbor-x about 65 ms to build, where a host message has five keys.
   */
  maxMapEntries?: number
}

/**
 * The guard's answer; `reason` is short lower-case English, fit for an `error` reply.
 * `exceeded` is set when the item is well-formed (as far as it was read) but passed
 * `maxContainers` or `maxMapEntries`: a limit, not a broken frame.
 */
export type CborVerdict = { ok: true } | { ok: false; reason: string; exceeded?: StructureLimit }

/** Which structure limit a frame passed. */
export type StructureLimit = 'containers' | 'map-entries'

/**
 * Walks the encoded item without building it. O(bytes), no allocation proportional to declared
 * lengths: its own memory is bounded by `maxDepth`.
 *
 * Contract: `{ ok: true }` only if all of these hold, otherwise `{ ok: false, reason }`.
 * - `bytes` is exactly one well-formed CBOR data item (RFC 8949) and nothing else: trailing bytes
 *   and truncated items are refused.
 * - Every declared length fits in the bytes left after its header: a byte or text string of n
 *   needs n bytes, an array of n items n bytes, a map of n entries 2n bytes (each item takes at
 *   least one). Lengths beyond `Number.MAX_SAFE_INTEGER` are refused by the same rule.
 * - Arrays and maps, definite or indefinite, nest at most `limits.maxDepth` deep.
 * - No tags (major type 6), whatever the tag number: the protocol uses none, and cbor-x gives
 *   private ones (records 0xd8 0x69, structures 0xe0+) a meaning standard decoders do not share.
 * - Indefinite-length strings hold only definite chunks of their own major type; indefinite
 *   arrays and maps end with a break (0xff), and an indefinite map has an even item count. A
 *   break anywhere else, reserved additional information (28–30) and an indefinite length on
 *   an integer or tag are refused.
 * - Major type 7 is limited to false, true, null, undefined and half/single/double floats: a
 *   1-byte simple value below 32 is not well-formed, and unassigned simple values are refused
 *   because no decoder we talk to has a meaning for them.
 * - Text strings (each chunk, for indefinite ones) are valid UTF-8.
 * - At most `limits.maxContainers` arrays and maps in all, and at most `limits.maxMapEntries`
 *   map entries in all (when given): refused with `exceeded` set, as soon as the count passes.
 *
 * It never throws: a bad argument or a bug yields `{ ok: false }`.
 *
 * @example
 * const verdict = inspectCbor(frame, { maxDepth: 16 })
 * if (!verdict.ok) return replyError(verdict.reason)
 * const message: unknown = decode(frame)
 */
export function inspectCbor(bytes: Uint8Array, limits: CborLimits): CborVerdict {
  try {
    if (!(bytes instanceof Uint8Array)) return refuse('message is not a byte array')
    // A NaN or negative limit would silently disable the depth check.
    if (!Number.isInteger(limits.maxDepth) || limits.maxDepth < 0) {
      return refuse('maxDepth must be a non-negative integer')
    }
    const { maxContainers = Infinity, maxMapEntries = Infinity } = limits
    for (const [name, value] of [['maxContainers', maxContainers], ['maxMapEntries', maxMapEntries]] as const) {
      if (!(Number.isInteger(value) || value === Infinity) || value < 0) return refuse(`${name} must be a non-negative integer`)
    }
    return walk(bytes, limits.maxDepth, maxContainers, maxMapEntries)
  } catch {
    return refuse('internal error while inspecting the message')
  }
}

/** An array or map still being read. Definite ones count down; indefinite ones wait for 0xff. */
interface OpenContainer {
  map: boolean
  indefinite: boolean
  /** Items (keys and values counted separately) still due; unused when indefinite. */
  due: number
  /** Items seen so far; only its parity matters, for indefinite maps. */
  seen: number
}

/** A decoded initial byte and argument. `arg` is a bigint only when above MAX_SAFE_INTEGER. */
interface Head {
  major: number
  info: number
  arg: number | bigint
  /** Offset of the first byte after the head. */
  end: number
}

const majorName = ['unsigned integer', 'negative integer', 'byte string', 'text string', 'array', 'map', 'tag', 'simple value']
const aMajor = (major: number): string => `${major === 0 || major === 4 ? 'an' : 'a'} ${majorName[major]}`

function refuse(reason: string): CborVerdict {
  return { ok: false, reason }
}

function tooMany(exceeded: StructureLimit, reason: string): CborVerdict {
  return { ok: false, reason, exceeded }
}

function walk(bytes: Uint8Array, maxDepth: number, maxContainers: number, maxMapEntries: number): CborVerdict {
  const size = bytes.length
  if (size === 0) return refuse('empty message')
  // Only ever holds containers that are open right now, so it is bounded by maxDepth.
  const open: OpenContainer[] = []
  let pos = 0
  let containers = 0
  let entries = 0

  do {
    if (pos >= size) return refuse('truncated message')
    const top = open[open.length - 1]
    if (bytes[pos] === 0xff) {
      // A break closes the innermost container, and only if that one is indefinite.
      if (top === undefined || !top.indefinite) return refuse(`unexpected break (0xff) at offset ${pos}`)
      if (top.map && top.seen % 2 !== 0) return refuse('indefinite map ends with a key that has no value')
      open.pop()
      pos += 1
    } else {
      const head = readHead(bytes, pos)
      if (typeof head === 'string') return refuse(head)
      const left = size - head.end
      switch (head.major) {
        case 0:
        case 1:
          pos = head.end
          break
        case 2:
        case 3: {
          const end = head.info === 31 ? skipChunks(bytes, head) : skipString(bytes, head)
          if (typeof end === 'string') return refuse(end)
          pos = end
          break
        }
        case 4:
        case 5: {
          const map = head.major === 5
          // Each open container is a stack entry: the depth limit is what bounds the walk's memory.
          if (open.length >= maxDepth) return refuse(`nesting deeper than ${maxDepth}`)
          if (++containers > maxContainers) return tooMany('containers', `more than ${maxContainers} maps and arrays in one message`)
          if (head.info === 31) {
            open.push({ map, indefinite: true, due: 0, seen: 0 })
            pos = head.end
            continue // its items come next; it counts as an item of its parent when it closes
          }
          // Every item takes at least one byte: a longer declaration can never be honest, and
          // rejecting it here keeps cbor-x from preallocating for it.
          const n = head.arg
          if (map && n > left / 2) {
            const needed = typeof n === 'bigint' ? n * 2n : n * 2
            return refuse(`declared map length ${n} needs ${needed} bytes, only ${left} left`)
          }
          if (n > left) return refuse(`declared array length ${n} exceeds the ${left} bytes left`)
          // A definite map's entries count at its head: a frame is refused before its keys are read.
          if (map && (entries += Number(n)) > maxMapEntries) return tooMany('map-entries', `more than ${maxMapEntries} map entries in one message`)
          pos = head.end
          const due = map ? Number(n) * 2 : Number(n)
          if (due > 0) {
            open.push({ map, indefinite: false, due, seen: 0 })
            continue
          }
          break
        }
        case 6:
          // Refused by number, not by meaning: any tag lets cbor-x run an extension reader.
          return refuse(`tags are not allowed (tag ${head.arg})`)
        default: {
          const problem = checkSimple(head)
          if (problem !== undefined) return refuse(problem)
          pos = head.end
        }
      }
    }
    // One item is complete: count it against its container, closing definite ones that are full.
    for (let inner = open[open.length - 1]; inner !== undefined; inner = open[open.length - 1]) {
      inner.seen += 1
      // An indefinite map's entries count as their keys complete.
      if (inner.indefinite && inner.map && inner.seen % 2 === 1 && ++entries > maxMapEntries) {
        return tooMany('map-entries', `more than ${maxMapEntries} map entries in one message`)
      }
      if (inner.indefinite || inner.seen < inner.due) break
      open.pop()
    }
  } while (open.length > 0)

  if (pos !== size) return refuse(`trailing bytes after the message (${size - pos} at offset ${pos})`)
  return { ok: true }
}

/** Reads the initial byte and its argument at `pos`; a string is the reason it cannot. */
function readHead(bytes: Uint8Array, pos: number): Head | string {
  const initial = bytes[pos] ?? 0
  const major = initial >> 5
  const info = initial & 0x1f
  if (info < 24) return { major, info, arg: info, end: pos + 1 }
  if (info === 31) {
    // Indefinite length has a meaning only for strings, arrays and maps (0xff is handled by the caller).
    if (major < 2 || major > 5) return `indefinite length is not allowed for ${aMajor(major)}`
    return { major, info, arg: 0, end: pos + 1 }
  }
  if (info > 27) return `reserved additional information ${info} (initial byte 0x${hex(initial)})`
  const width = 1 << (info - 24)
  const end = pos + 1 + width
  if (end > bytes.length) return 'truncated message'
  // Read byte by byte: no DataView over a buffer whose offset we do not control.
  let high = 0
  let low = 0
  for (let i = pos + 1; i < end; i++) {
    high = high * 256 + Math.floor(low / 0x1000000)
    low = (low % 0x1000000) * 256 + (bytes[i] ?? 0)
  }
  // high holds the upper 32 bits: above 21 of them the value is past MAX_SAFE_INTEGER.
  const arg = high <= 0x1fffff ? high * 0x100000000 + low : (BigInt(high) << 32n) | BigInt(low)
  return { major, info, arg, end }
}

/** Skips a definite string; returns the offset after it, or the reason it is refused. */
function skipString(bytes: Uint8Array, head: Head): number | string {
  const left = bytes.length - head.end
  if (head.arg > left) return `declared ${majorName[head.major]} length ${head.arg} exceeds the ${left} bytes left`
  const end = head.end + Number(head.arg)
  // cbor-x's own short-string decoder does not validate, so bad UTF-8 would pass as mojibake.
  if (head.major === 3 && !isUtf8(bytes.subarray(head.end, end))) return 'invalid utf-8 in text string'
  return end
}

/** Skips an indefinite string: definite chunks of the same major type, then a break. */
function skipChunks(bytes: Uint8Array, head: Head): number | string {
  let pos = head.end
  for (;;) {
    if (pos >= bytes.length) return 'truncated message'
    if (bytes[pos] === 0xff) return pos + 1
    const chunk = readHead(bytes, pos)
    if (typeof chunk === 'string') return chunk
    if (chunk.major !== head.major || chunk.info === 31) {
      const kind = chunk.info === 31 ? 'an indefinite chunk' : `${aMajor(chunk.major)} chunk`
      return `indefinite-length ${majorName[head.major]} has ${kind}`
    }
    const end = skipString(bytes, chunk)
    if (typeof end === 'string') return end
    pos = end
  }
}

/** Major type 7, other than a break: the reason it is refused, or undefined when it is fine. */
function checkSimple(head: Head): string | undefined {
  if (head.info >= 20 && head.info <= 23) return undefined // false, true, null, undefined
  if (head.info >= 25 && head.info <= 27) return undefined // half, single, double float
  // RFC 8949 §3.3: values below 32 must use the one-byte form; the two-byte form is malformed.
  if (head.info === 24 && Number(head.arg) < 32) return `simple value ${head.arg} in two-byte form is not well-formed`
  return `unassigned simple value ${head.arg}`
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0')
}
