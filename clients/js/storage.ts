/**
 * Where a client keeps what it needs to come back: a player's `sid` per room, a host's room
 * code and resume token. In a page that is the Web Storage API; elsewhere, nothing.
 */

/** The part of the Web Storage API (`localStorage`, `sessionStorage`) the client uses. */
export interface StorageLike {
  getItem(key: string): string | null
  setItem(key: string, value: string): void
  removeItem(key: string): void
}

/**
 * The page's storage of that kind, or `undefined` outside a page (Node) or where it is
 * refused (private modes that throw on access, Node 22+ without a storage file).
 */
export function pageStorage(kind: 'localStorage' | 'sessionStorage'): StorageLike | undefined {
  try {
    const s = (globalThis as Record<string, unknown>)[kind] as StorageLike | undefined
    if (!s || typeof s.getItem !== 'function') return undefined
    s.getItem('partyline.probe')
    return s
  } catch {
    return undefined
  }
}

/** Read, never throwing (a full or refused storage is the same as an empty one). */
export function readItem(storage: StorageLike | undefined, key: string): string | undefined {
  try {
    return storage?.getItem(key) ?? undefined
  } catch {
    return undefined
  }
}

/** Write or remove (`undefined`), never throwing: storage is a convenience, not a contract. */
export function writeItem(storage: StorageLike | undefined, key: string, value: string | undefined): void {
  try {
    if (value === undefined) storage?.removeItem(key)
    else storage?.setItem(key, value)
  } catch {
    // Quota exceeded or storage disabled: the client works on, it just will not remember.
  }
}
