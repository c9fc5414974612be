import { existsSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Absolute path of a file shipped at the package root (`proto/…`, `assets/…`).
 *
 * This module runs from `src/games/clickplanet/` under tsx and from
 * `dist/src/games/clickplanet/` once compiled, so a fixed `../../../` is right in one
 * layout only. Walking up until the file exists works in both (and in an installed
 * package, as long as `proto/` and `assets/` are published next to `dist/`).
 * @throws Error naming the file when no ancestor directory holds it.
 */
export function packageFile(relative: string): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const candidate = join(dir, relative)
    if (existsSync(candidate)) return candidate
    const parent = resolve(dir, '..')
    if (parent === dir) throw new Error(`clickplanet: ${relative} not found above ${fileURLToPath(import.meta.url)}`)
    dir = parent
  }
}
