/**
 * The Store in Redis (one primary, standalone or behind Sentinel; not Redis Cluster: the
 * scripts derive keys from the data they read). Keys, under `prefix` (default `partyline:`):
 *
 *   epoch          counter: every claim and adoption takes the next fencing epoch
 *   dir:CODE       hash {node, epoch}: the directory entry
 *   cool:CODE      the time (ms) a freed code's cooldown ends, with a TTL to match
 *   room:CODE      hash: the room record, one field per part (`f:name` …, `p:<id>` per player)
 *   node:NODE      set: the codes whose entry names NODE
 *   nodes          sorted set: node → the time (ms) its lease runs out
 *   snap:NAME      hash {pos, bytes}: a snapshot, replaced by one HSET
 *   snapw:NAME     hash {node, epoch, until}: NAME's snapshot writer and when its time ends
 *
 * Every directory operation is one Lua script: each reads the entry, the owner's lease
 * and the cooldown and writes several keys, and must do so as one step for claims to be
 * unique and fencing to hold. A script runs atomically without the retry loop that
 * WATCH/MULTI needs under contention (twenty nodes racing for one code would each retry),
 * costs one round trip, and is cached by SHA (EVALSHA, re-sent after a Redis restart).
 * Time is Redis's own (`TIME` in the script), so nodes' clocks never matter; tests may
 * pass a clock instead. Orphans expire lazily (whoever reads an entry past its time
 * removes it) and by a sweep: each lease renewal expires the rooms of at most one node
 * whose lease ran out more than the orphan TTL ago.
 *
 * Connection: reconnects for ever with capped backoff; while Redis is unreachable every
 * command rejects at once with `StoreUnavailable` (no offline queue: nothing is held to be
 * replayed later); a command issued while a connection attempt is under way waits for
 * that attempt (at most `connectTimeoutMs`); a command Redis does not answer within
 * `commandTimeoutMs` (a Redis that hangs) rejects too, and the store reports itself failing
 * until a command is answered again.
 */
import { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { ReadinessComponent } from '../readiness.js'
import {
  checkSnapshotArgs,
  DEFAULT_ORPHAN_COOLDOWN_MS,
  DEFAULT_ORPHAN_TTL_MS,
  OwnershipLost,
  StoreUnavailable,
  byNode,
  type ExpiryOptions,
  type LapsedNode,
  type NodeList,
  type Ownership,
  type RecordPlayer,
  type RoomPatch,
  type RoomRecord,
  type Store,
  type StoredSnapshot,
  type SnapshotWriter,
  type NewerSnapshotResult,
} from './store.js'

export interface RedisStoreOptions extends ExpiryOptions {
  /** `redis://[user:pass@]host:port[/db]` or `rediss://…`. */
  readonly url: string
  /** Prefix of every key (tests give each store its own). */
  readonly prefix?: string
  /** A clock in ms for tests; unset, Redis's own clock. */
  readonly now?: () => number
  /** Where it reports whether it can be reached (a readiness component). */
  readonly health?: Pick<ReadinessComponent, 'ok' | 'failing'>
  readonly logger?: Logger
  /** The name this client shows in `CLIENT LIST` (the node id). */
  readonly connectionName?: string
  /** A command without an answer for this long fails (default 5000). */
  readonly commandTimeoutMs?: number
  /** A connection attempt that takes longer fails and is retried (default 2000). */
  readonly connectTimeoutMs?: number
}

/** Backoff between reconnection attempts: 50 ms doubling to 2 s, with jitter; never gives up. */
export function reconnectDelay(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(attempt, 6), 2000) + Math.floor(Math.random() * 100)
}

/** The URL without its password, for logs and /readyz. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return '(unparsable URL)'
  }
}

const PRELUDE = `
local P = ARGV[4]
local TTL = tonumber(ARGV[2])
local COOL = tonumber(ARGV[3])
local NOW
if ARGV[1] ~= '' then NOW = tonumber(ARGV[1]) else
  local t = redis.call('TIME')
  NOW = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function release(code, node, untilMs)
  redis.call('DEL', P .. 'dir:' .. code)
  redis.call('SREM', P .. 'node:' .. node, code)
  if untilMs > NOW then redis.call('SET', P .. 'cool:' .. code, untilMs, 'PX', math.ceil(untilMs - NOW)) end
end
local function entry(code)
  local e = redis.call('HMGET', P .. 'dir:' .. code, 'node', 'epoch')
  if not e[1] then return nil end
  local lease = redis.call('ZSCORE', P .. 'nodes', e[1])
  if lease and tonumber(lease) + TTL <= NOW then
    release(code, e[1], tonumber(lease) + TTL + COOL)
    redis.call('DEL', P .. 'room:' .. code)
    return nil
  end
  return e[1], tonumber(e[2])
end
local function cooling(code)
  local u = redis.call('GET', P .. 'cool:' .. code)
  return u and tonumber(u) > NOW
end
local function set_entry(code, node, epoch)
  redis.call('HSET', P .. 'dir:' .. code, 'node', node, 'epoch', epoch)
  redis.call('SADD', P .. 'node:' .. node, code)
end
local function fenced(code, node, epoch)
  local n, e = entry(code)
  if n ~= node or e ~= tonumber(epoch) then
    return redis.error_reply('LOST ' .. (n or '') .. ' ' .. (e or ''))
  end
  return nil
end
local function expire_node(node)
  local lease = redis.call('ZSCORE', P .. 'nodes', node)
  if not lease or tonumber(lease) + TTL > NOW then return false end
  for _, code in ipairs(redis.call('SMEMBERS', P .. 'node:' .. node)) do entry(code) end
  redis.call('DEL', P .. 'node:' .. node)
  redis.call('ZREM', P .. 'nodes', node)
  return true
end
-- ARGV[from..to] as arguments of cmd on key, in chunks (unpack has a stack limit)
local function each_chunk(cmd, key, from, to, step)
  for i = from, to, step do redis.call(cmd, key, unpack(ARGV, i, math.min(i + step - 1, to))) end
end
local function write_record(code, from)
  redis.call('DEL', P .. 'room:' .. code)
  each_chunk('HSET', P .. 'room:' .. code, from, #ARGV, 1000)
end
`

/** Scripts by name: ARGV 1-4 are now, orphan TTL, orphan cooldown, prefix; theirs follow. */
const SCRIPTS = {
  // name, node, ttl → epoch | nil
  plClaimWriter: `local key, node, ttl = P .. 'snapw:' .. ARGV[5], ARGV[6], tonumber(ARGV[7])
local w = redis.call('HMGET', key, 'node', 'epoch', 'until')
local live = w[3] and tonumber(w[3]) > NOW
if live and w[1] ~= node then return nil end
local epoch = tonumber(w[2] or '0')
if not live then epoch = epoch + 1 end
redis.call('HSET', key, 'node', node, 'epoch', epoch, 'until', NOW + ttl)
return epoch`,
  // name, node, epoch
  plReleaseWriter: `local key = P .. 'snapw:' .. ARGV[5]
local w = redis.call('HMGET', key, 'node', 'epoch')
if w[1] == ARGV[6] and tonumber(w[2]) == tonumber(ARGV[7]) then redis.call('HSET', key, 'until', 0) end
return 1`,
  // name, node, epoch, pos, bytes → 'saved' | 'older' | 'fenced'
  plSaveNewer: `local key, snap = P .. 'snapw:' .. ARGV[5], P .. 'snap:' .. ARGV[5]
local w = redis.call('HMGET', key, 'node', 'epoch', 'until')
if w[1] ~= ARGV[6] or tonumber(w[2]) ~= tonumber(ARGV[7]) or not w[3] or tonumber(w[3]) <= NOW then return 'fenced' end
local pos = redis.call('HGET', snap, 'pos')
if pos and tonumber(pos) >= tonumber(ARGV[8]) then return 'older' end
redis.call('HSET', snap, 'pos', ARGV[8], 'bytes', ARGV[9])
return 'saved'`,
  // code, node → epoch | nil
  plClaim: `local code, node = ARGV[5], ARGV[6]
    if entry(code) or cooling(code) then return false end
    local epoch = redis.call('INCR', P .. 'epoch')
    set_entry(code, node, epoch)
    return epoch`,
  // code → {node, epoch} | nil
  plOwner: `local n, e = entry(ARGV[5])
    if not n then return false end
    return {n, e}`,
  // code, cooldownMs
  plReleaseCode: `local code = ARGV[5]
    local n = entry(code)
    if n then release(code, n, NOW + tonumber(ARGV[6])) end
    return 0`,
  // code, node, epoch, cooldownMs
  plReleaseRoom: `local code = ARGV[5]
    local lost = fenced(code, ARGV[6], ARGV[7])
    if lost then return lost end
    release(code, ARGV[6], NOW + tonumber(ARGV[8]))
    redis.call('DEL', P .. 'room:' .. code)
    return 0`,
  // code, node ('' = unfenced), epoch, field, value, …
  plSaveRoom: `local code = ARGV[5]
    local lost = ARGV[6] ~= '' and fenced(code, ARGV[6], ARGV[7])
    if lost then return lost end
    write_record(code, 8)
    return 0`,
  // code, node ('' = unfenced), epoch, nDeleted, field…, field, value, …
  plUpdateRoom: `local code = ARGV[5]
    local lost = ARGV[6] ~= '' and fenced(code, ARGV[6], ARGV[7])
    if lost then return lost end
    local key = P .. 'room:' .. code
    if redis.call('EXISTS', key) == 0 then return redis.error_reply('NORECORD no record') end
    local ndel = tonumber(ARGV[8])
    each_chunk('HDEL', key, 9, 8 + ndel, 1000)
    each_chunk('HSET', key, 9 + ndel, #ARGV, 1000)
    return 0`,
  // code → flat field/value list
  plLoadRoom: `entry(ARGV[5])
    return redis.call('HGETALL', P .. 'room:' .. ARGV[5])`,
  // code, node, epoch, field, value, …
  plRestoreRoom: `local code, node, epoch = ARGV[5], ARGV[6], tonumber(ARGV[7])
    local n = entry(code)
    if n then
      local lost = fenced(code, node, epoch)
      if lost then return lost end
    elseif cooling(code) then
      return redis.error_reply('LOST  ')
    else
      set_entry(code, node, epoch)
      if tonumber(redis.call('GET', P .. 'epoch') or '0') < epoch then redis.call('SET', P .. 'epoch', epoch) end
    end
    write_record(code, 8)
    return 0`,
  // code, expected node, expected epoch, new node → epoch | nil
  plAdopt: `local code, from, node = ARGV[5], ARGV[6], ARGV[8]
    local n, e = entry(code)
    if n ~= from or e ~= tonumber(ARGV[7]) then return false end
    redis.call('SREM', P .. 'node:' .. from, code)
    local epoch = redis.call('INCR', P .. 'epoch')
    set_entry(code, node, epoch)
    local room = P .. 'room:' .. code
    if redis.call('EXISTS', room) == 1 then redis.call('HSET', room, 'f:node', cjson.encode(node)) end
    return epoch`,
  // node → codes
  plRoomsOf: `local node = ARGV[5]
    local out = {}
    for _, code in ipairs(redis.call('SMEMBERS', P .. 'node:' .. node)) do
      if entry(code) == node then table.insert(out, code) else redis.call('SREM', P .. 'node:' .. node, code) end
    end
    return out`,
  // node, ttlMs
  plRenew: `local node = ARGV[5]
    expire_node(node)
    local gone = redis.call('ZRANGEBYSCORE', P .. 'nodes', '-inf', NOW - TTL, 'LIMIT', 0, 1)
    if gone[1] then expire_node(gone[1]) end
    redis.call('ZADD', P .. 'nodes', NOW + tonumber(ARGV[6]), node)
    return 0`,
  // node
  plDropLease: `local lease = redis.call('ZSCORE', P .. 'nodes', ARGV[5])
    if lease and tonumber(lease) > NOW then redis.call('ZADD', P .. 'nodes', NOW, ARGV[5]) end
    return 0`,
  // → {live nodes, lapsed node, for ms, …}
  plNodes: `local live, lapsed = {}, {}
    local all = redis.call('ZRANGE', P .. 'nodes', 0, -1, 'WITHSCORES')
    for i = 1, #all, 2 do
      if not expire_node(all[i]) then
        local lease = tonumber(all[i + 1])
        if lease > NOW then table.insert(live, all[i]) else
          table.insert(lapsed, all[i])
          table.insert(lapsed, NOW - lease)
        end
      end
    end
    return {live, lapsed}`,
} as const

type ScriptName = keyof typeof SCRIPTS
type ScriptArg = string | number | Buffer
type Scripted = Record<ScriptName, (...args: ScriptArg[]) => Promise<unknown>>

/** An error Redis answered (ioredis types its ReplyError class as `any`). */
function isReply(err: unknown): err is Error {
  return err instanceof Error && err.name === 'ReplyError'
}

/** Record ↔ hash fields: `f:<field>` holds JSON, `p:<id>` a player's JSON. */
const PLAYER = 'p:'
const FIELD = 'f:'

function recordFields(record: RoomRecord): string[] {
  const out: string[] = []
  for (const [k, v] of Object.entries(record)) if (k !== 'players') out.push(FIELD + k, JSON.stringify(v))
  for (const p of record.players) out.push(PLAYER + p.id, JSON.stringify(p))
  return out
}

function recordFrom(flat: readonly string[]): RoomRecord | undefined {
  if (flat.length === 0) return undefined
  const fields: Record<string, unknown> = {}
  const players: RecordPlayer[] = []
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const k = flat[i]!
    const v = JSON.parse(flat[i + 1]!) as unknown
    if (k.startsWith(PLAYER)) players.push(v as RecordPlayer)
    else if (k.startsWith(FIELD)) fields[k.slice(FIELD.length)] = v
  }
  players.sort((a, b) => a.id - b.id)
  return { ...(fields as Omit<RoomRecord, 'players'>), players }
}

export class RedisStore implements Store {
  readonly #redis: Redis
  readonly #scripts: Scripted
  readonly #prefix: string
  readonly #now: (() => number) | undefined
  readonly #orphanTtlMs: number
  readonly #orphanCooldownMs: number
  readonly #connectTimeoutMs: number
  readonly #url: string
  #lastError = 'connecting'
  readonly #health: Pick<ReadinessComponent, 'ok' | 'failing'> | undefined
  /** A command timed out on an open connection: failing until one is answered again. */
  #stalled = false
  #everReady = false
  #reconnects = 0
  #closed = false

  constructor(opts: RedisStoreOptions) {
    this.#prefix = opts.prefix ?? 'partyline:'
    this.#now = opts.now
    this.#orphanTtlMs = opts.orphanTtlMs ?? DEFAULT_ORPHAN_TTL_MS
    this.#orphanCooldownMs = opts.orphanCooldownMs ?? DEFAULT_ORPHAN_COOLDOWN_MS
    this.#connectTimeoutMs = opts.connectTimeoutMs ?? 2000
    this.#url = redactUrl(opts.url)
    const health = (this.#health = opts.health)
    const logger = opts.logger
    this.#redis = new Redis(opts.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      retryStrategy: reconnectDelay,
      connectTimeout: this.#connectTimeoutMs,
      commandTimeout: opts.commandTimeoutMs ?? 5000,
      ...(opts.connectionName ? { connectionName: opts.connectionName } : {}),
      scripts: Object.fromEntries(Object.entries(SCRIPTS).map(([name, lua]) => [name, { lua: PRELUDE + lua, numberOfKeys: 0 }])),
    })
    this.#scripts = this.#redis as unknown as Scripted
    health?.failing(`connecting to ${this.#url}`)
    this.#redis.on('ready', () => {
      if (this.#everReady) this.#reconnects++
      this.#everReady = true
      health?.ok()
      logger?.info({ redis: this.#url }, 'redis connected')
    })
    this.#redis.on('error', (err: Error) => {
      const first = this.#lastError !== err.message
      this.#lastError = err.message
      if (first) logger?.warn({ redis: this.#url, err: err.message }, 'redis unreachable; retrying')
    })
    this.#redis.on('close', () => {
      if (this.#closed) return
      health?.failing(`unreachable (${this.#url}): ${this.#lastError}; retrying`)
    })
  }

  /** Whether commands can be sent now. */
  get connected(): boolean {
    return this.#redis.status === 'ready'
  }

  /** Times the connection came back after it was lost. */
  get reconnects(): number {
    return this.#reconnects
  }

  async reserveCode(code: string, node: string): Promise<boolean> {
    return (await this.claimCode(code, node)) !== undefined
  }

  async claimCode(code: string, node: string): Promise<Ownership | undefined> {
    const epoch = await this.#run('plClaim', code, node)
    return epoch === null ? undefined : { node, epoch: Number(epoch) }
  }

  async lookupCode(code: string): Promise<string | undefined> {
    return (await this.owner(code))?.node
  }

  async owner(code: string): Promise<Ownership | undefined> {
    const r = (await this.#run('plOwner', code)) as [string, number] | null
    return r === null ? undefined : { node: r[0], epoch: Number(r[1]) }
  }

  async releaseCode(code: string, cooldownMs: number): Promise<void> {
    await this.#run('plReleaseCode', code, cooldownMs)
  }

  async releaseRoom(code: string, fence: Ownership, cooldownMs: number): Promise<void> {
    await this.#fenced(code, fence, 'plReleaseRoom', code, fence.node, fence.epoch, cooldownMs)
  }

  async saveRoom(record: RoomRecord, fence?: Ownership): Promise<void> {
    const f = fence ?? { node: '', epoch: 0 }
    await this.#fenced(record.key, f, 'plSaveRoom', record.key, f.node, f.epoch, ...recordFields(record))
  }

  async updateRoom(code: string, patch: RoomPatch, fence?: Ownership): Promise<void> {
    const f = fence ?? { node: '', epoch: 0 }
    const added = new Set((patch.players ?? []).map((p) => p.id))
    const removed = (patch.removePlayers ?? []).filter((id) => !added.has(id)).map((id) => PLAYER + id)
    const set: string[] = []
    for (const [k, v] of Object.entries(patch.set ?? {})) if (v !== undefined) set.push(FIELD + k, JSON.stringify(v))
    for (const p of patch.players ?? []) set.push(PLAYER + p.id, JSON.stringify(p))
    await this.#fenced(code, f, 'plUpdateRoom', code, f.node, f.epoch, removed.length, ...removed, ...set)
  }

  async loadRoom(code: string): Promise<RoomRecord | undefined> {
    return recordFrom((await this.#run('plLoadRoom', code)) as string[])
  }

  async deleteRoom(code: string): Promise<void> {
    await this.#command(() => this.#redis.del(this.#prefix + 'room:' + code))
  }

  async restoreRoom(record: RoomRecord, fence: Ownership): Promise<void> {
    await this.#fenced(record.key, fence, 'plRestoreRoom', record.key, fence.node, fence.epoch, ...recordFields(record))
  }

  async adoptRoom(code: string, expected: Ownership, node: string): Promise<Ownership | undefined> {
    const epoch = await this.#run('plAdopt', code, expected.node, expected.epoch, node)
    return epoch === null ? undefined : { node, epoch: Number(epoch) }
  }

  async roomsOf(node: string): Promise<string[]> {
    return ((await this.#run('plRoomsOf', node)) as string[]).sort()
  }

  async renewLease(node: string, ttlMs: number): Promise<void> {
    await this.#run('plRenew', node, ttlMs)
  }

  async dropLease(node: string): Promise<void> {
    await this.#run('plDropLease', node)
  }

  async nodes(): Promise<NodeList> {
    const [live, flat] = (await this.#run('plNodes')) as [string[], (string | number)[]]
    const lapsed: LapsedNode[] = []
    for (let i = 0; i + 1 < flat.length; i += 2) lapsed.push({ node: String(flat[i]), forMs: Number(flat[i + 1]) })
    return { live: live.sort(), lapsed: lapsed.sort(byNode) }
  }

  async saveSnapshot(name: string, snapshot: StoredSnapshot): Promise<void> {
    checkSnapshotArgs(name, snapshot.position)
    // Copied now: the socket may still hold the buffer after this returns.
    const bytes = Buffer.from(snapshot.bytes)
    await this.#command(() => this.#redis.hset(this.#prefix + 'snap:' + name, 'pos', String(snapshot.position), 'bytes', bytes))
  }

  async claimSnapshotWriter(name: string, node: string, ttlMs: number): Promise<SnapshotWriter | undefined> {
    checkSnapshotArgs(name)
    const epoch = await this.#run('plClaimWriter', name, node, Math.max(1, Math.round(ttlMs)))
    return epoch == null ? undefined : { node, epoch: Number(epoch) }
  }

  async releaseSnapshotWriter(name: string, writer: SnapshotWriter): Promise<void> {
    checkSnapshotArgs(name)
    await this.#run('plReleaseWriter', name, writer.node, writer.epoch)
  }

  async saveNewerSnapshot(name: string, snapshot: StoredSnapshot, writer: SnapshotWriter): Promise<NewerSnapshotResult> {
    checkSnapshotArgs(name, snapshot.position)
    const bytes = Buffer.from(snapshot.bytes)
    const result = await this.#run('plSaveNewer', name, writer.node, writer.epoch, String(snapshot.position), bytes)
    return String(result) as NewerSnapshotResult
  }

  async snapshotNames(prefix: string): Promise<string[]> {
    const start = this.#prefix + 'snap:'
    const pattern = globEscape(start + prefix) + '*'
    const names: string[] = []
    // SCAN in steps (never KEYS, which holds Redis for the whole keyspace); bounded in steps.
    let cursor = '0'
    for (let steps = 0; steps < 100_000; steps++) {
      const [next, keys] = await this.#command(() => this.#redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000))
      for (const k of keys) names.push(k.slice(start.length))
      cursor = next
      if (cursor === '0') break
    }
    return names
  }

  async deleteSnapshot(name: string): Promise<void> {
    checkSnapshotArgs(name)
    await this.#command(() => this.#redis.del(this.#prefix + 'snap:' + name))
  }

  async loadSnapshot(name: string): Promise<StoredSnapshot | undefined> {
    checkSnapshotArgs(name)
    const [pos, bytes] = await this.#command(() => this.#redis.hmgetBuffer(this.#prefix + 'snap:' + name, 'pos', 'bytes'))
    if (pos == null && bytes == null) return undefined
    const position = Number(pos?.toString('latin1'))
    if (bytes == null || !Number.isSafeInteger(position)) throw new Error(`snapshot ${name}: damaged in Redis`)
    return { position, bytes: new Uint8Array(bytes) }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    try {
      if (this.#redis.status === 'ready') await this.#redis.quit()
    } catch {
      // closing anyway
    }
    this.#redis.disconnect()
  }

  /** A script with the common arguments. */
  #run(name: ScriptName, ...args: ScriptArg[]): Promise<unknown> {
    const now = this.#now ? String(this.#now()) : ''
    return this.#command(() => this.#scripts[name](now, this.#orphanTtlMs, this.#orphanCooldownMs, this.#prefix, ...args))
  }

  /** A fenced script: its `LOST node epoch` error becomes `OwnershipLost`. */
  async #fenced(code: string, fence: Ownership, name: ScriptName, ...args: ScriptArg[]): Promise<void> {
    try {
      await this.#run(name, ...args)
    } catch (err) {
      if (isReply(err) && err.message.startsWith('LOST ')) {
        const [, node, epoch] = err.message.split(' ')
        throw new OwnershipLost(code, fence, node ? { node, epoch: Number(epoch) } : undefined)
      }
      if (isReply(err) && err.message.startsWith('NORECORD')) throw new Error(`room ${code} has no record to update`)
      throw err
    }
  }

  /** Runs `send` once the connection is usable; connection failures become `StoreUnavailable`. */
  async #command<T>(send: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new StoreUnavailable('the store is closed')
    await this.#settleAttempt()
    if (this.#redis.status !== 'ready') throw new StoreUnavailable(`${this.#url}: ${this.#lastError}`)
    try {
      const answer = await send()
      if (this.#stalled) {
        this.#stalled = false
        this.#health?.ok()
      }
      return answer
    } catch (err) {
      if (isReply(err)) throw err
      const message = (err as Error).message
      if (/timed out/i.test(message) && this.#redis.status === 'ready') {
        this.#stalled = true
        this.#health?.failing(`not answering (${this.#url}): ${message}`)
      }
      throw new StoreUnavailable(`${this.#url}: ${message}`, { cause: err })
    }
  }

  /** While a connection attempt is under way, wait for its outcome (bounded). */
  async #settleAttempt(): Promise<void> {
    const status = this.#redis.status
    if (status !== 'connecting' && status !== 'connect' && status !== 'wait') return
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        this.#redis.off('ready', done)
        this.#redis.off('close', done)
        resolve()
      }
      const timer = setTimeout(done, this.#connectTimeoutMs)
      this.#redis.once('ready', done)
      this.#redis.once('close', done)
    })
  }
}

/** `text` matched literally by a Redis glob pattern. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&')
}
