/**
 * CRC-32 (IEEE, as zlib and PNG). Node only gained `zlib.crc32` in 20.15/22.2 and the
 * package supports every Node 20, so the ten lines are kept here; used for the map asset,
 * log records and snapshots.
 */
const TABLE = new Int32Array(256)
for (let n = 0; n < 256; n++) {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  TABLE[n] = c
}

/** CRC-32 of `bytes[start, end)` (a range, so a hot loop need not make a view per record). */
export function crc32(bytes: Uint8Array, crc = 0, start = 0, end = bytes.length): number {
  let c = ~crc
  for (let i = start; i < end; i++) c = (TABLE[(c ^ (bytes[i] ?? 0)) & 0xff] ?? 0) ^ (c >>> 8)
  return ~c >>> 0
}
