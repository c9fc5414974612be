import type { CborLimits, CborVerdict } from './cbor-guard.js'

/**
 * The JSON mode's counterpart of `inspectCbor`: a scan of the text before `JSON.parse` builds
 * anything, holding a frame to the same structure limits as a CBOR one. `JSON.parse` is fast,
 * but not on hostile shapes: 1 MiB of `{"k1":0,…}` (100,000 keys) takes it about 50 ms, of
 * `[[],[],…]` about 35 ms.
 *
 * Contract: `{ ok: false, reason }` when the text nests deeper than `maxDepth`, or (with
 * `exceeded` set) holds more than `maxContainers` arrays and objects or more than
 * `maxMapEntries` object members in all; otherwise `{ ok: true }`, which says nothing of the
 * text being JSON (`JSON.parse` decides that). It reads each character once and allocates
 * nothing. Brackets, braces and colons inside strings do not count.
 */
export function inspectJson(text: string, limits: CborLimits): CborVerdict {
  const { maxDepth, maxContainers = Infinity, maxMapEntries = Infinity } = limits
  let depth = 0
  let containers = 0
  let entries = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === BACKSLASH) i++ // the escaped character cannot end the string
      else if (c === QUOTE) inString = false
      continue
    }
    if (c === QUOTE) inString = true
    else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      if (++depth > maxDepth) return { ok: false, reason: `nesting deeper than ${maxDepth}` }
      if (++containers > maxContainers) {
        return { ok: false, reason: `more than ${maxContainers} maps and arrays in one message`, exceeded: 'containers' }
      }
    } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) depth--
    // Outside strings a colon only ever separates an object member's name from its value.
    else if (c === COLON && ++entries > maxMapEntries) {
      return { ok: false, reason: `more than ${maxMapEntries} map entries in one message`, exceeded: 'map-entries' }
    }
  }
  return { ok: true }
}

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COLON = 0x3a
const OPEN_BRACKET = 0x5b
const CLOSE_BRACKET = 0x5d
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d
