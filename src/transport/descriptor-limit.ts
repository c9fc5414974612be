/**
 * The process's file-descriptor limit (RLIMIT_NOFILE), which every socket counts against:
 * when it is used up, `accept` fails and every new client, `/healthz` included, is reset.
 * The WebSocket cap is set below it by a reserve, so plain HTTP always has descriptors.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

export interface DescriptorLimit {
  /** The limit in force; `Infinity` when unlimited. */
  readonly soft: number
  /** How far the soft limit may be raised without privileges. */
  readonly hard: number
}

/** The limit in force, from `/proc/self/limits`; undefined where that cannot be read (not Linux). */
export function readDescriptorLimit(): DescriptorLimit | undefined {
  let text: string
  try {
    text = readFileSync('/proc/self/limits', 'utf8')
  } catch {
    return undefined
  }
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text)
  if (!m) return undefined
  const value = (s: string): number => (s === 'unlimited' ? Infinity : Number(s))
  return { soft: value(m[1]!), hard: value(m[2]!) }
}

export interface RaisedLimit {
  /** The limit before, and in force now (undefined when it cannot be read). */
  readonly before: DescriptorLimit | undefined
  readonly now: DescriptorLimit | undefined
  /** Why the soft limit could not be raised to the hard one, if it could not. */
  readonly error?: string
}

/**
 * Raises the soft limit to the hard one. Node has no `setrlimit`; `prlimit` (util-linux)
 * sets it on this process from outside. (The `node` binary already raises it at start on
 * Linux, so this mostly confirms it; an embedder or another runtime may not have.)
 */
export function raiseDescriptorLimit(): RaisedLimit {
  const before = readDescriptorLimit()
  if (before === undefined || before.soft >= before.hard) return { before, now: before }
  const hard = before.hard === Infinity ? 'unlimited' : String(before.hard)
  try {
    execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${hard}:${hard}`], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 5000 })
  } catch (err) {
    return { before, now: readDescriptorLimit(), error: `prlimit failed: ${(err as Error).message.split('\n')[0]}` }
  }
  return { before, now: readDescriptorLimit() }
}

export interface ConnectionCap {
  /** WebSocket connections allowed in all; `Infinity` for none. */
  readonly total: number
  /** Set when the settings ask for more than the limit allows, or the limit is unknown. */
  readonly warning?: string
}

/**
 * The total WebSocket cap: `maxConnections`, or with 0 the descriptor limit less `reserve`.
 * A cap above that leaves plain HTTP without descriptors once the sockets take them all.
 */
export function connectionCap(maxConnections: number, reserve: number, limit: DescriptorLimit | undefined): ConnectionCap {
  if (limit === undefined) {
    if (maxConnections > 0) return { total: maxConnections }
    return { total: Infinity, warning: 'the descriptor limit is unknown here: no total connection cap (set PARTYLINE_MAX_CONNECTIONS)' }
  }
  const room = limit.soft - reserve
  if (room < 1) {
    return {
      total: maxConnections > 0 ? maxConnections : 1,
      warning: `the descriptor limit (${limit.soft}) is not above PARTYLINE_FD_RESERVE (${reserve}): raise the limit (ulimit -n) or lower the reserve`,
    }
  }
  if (maxConnections === 0) return { total: room }
  if (maxConnections > room) {
    return {
      total: maxConnections,
      warning: `PARTYLINE_MAX_CONNECTIONS (${maxConnections}) is above the descriptor limit (${limit.soft}) less PARTYLINE_FD_RESERVE (${reserve}) = ${room}: when that many sockets are open, /healthz and new clients may be reset`,
    }
  }
  return { total: maxConnections }
}
