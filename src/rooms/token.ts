import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

/** A host resume token: 32 URL-safe characters carrying 192 bits of randomness. */
export function newToken(): string {
  return randomBytes(24).toString('base64url')
}

/** Tokens are stored and compared as sha-256 digests; the token itself is never kept. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

/** Constant-time comparison of a presented token with a stored digest. */
export function tokenMatches(token: string, digest: string): boolean {
  const a = Buffer.from(hashToken(token), 'hex')
  const b = Buffer.from(digest, 'hex')
  return a.length === b.length && timingSafeEqual(a, b)
}
