/**
 * The one place for configuration.
 *
 * Every setting has an environment variable, a CLI flag (the variable's name without the
 * `PARTYLINE_` prefix, lower-case, dashes: `PARTYLINE_MAX_PLAYERS` → `--max-players`) and a
 * default. A CLI flag wins over the environment. A bad value stops start-up with a message
 * that names the setting (`ConfigError`; `partyline serve` exits with code 2).
 */
import { z } from 'zod'

const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+$/, { message: 'must be a whole number' })
    .transform(Number)
    .pipe(z.number().int().min(min, { message: `must be at least ${min}` }).max(max, { message: `must be at most ${max}` }))

/** Longest delay a Node timer takes (2^31 − 1 ms, about 24.8 days); longer ones fire at once. */
const TIMER_MAX_MS = 2_147_483_647

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' }))
  .transform((v) => v === 'true' || v === '1' || v === 'yes')

const origins = z
  .string()
  .transform((v) => v.split(',').map((s) => s.trim()).filter((s) => s.length > 0))
  .pipe(z.array(z.url({ message: 'must be a comma-separated list of origins like https://game.example' })))
  .transform((list) => list.map((o) => new URL(o).origin))

const text = z.string()

/** `redis://[user:pass@]host[:port][/db]` or `rediss://…`; empty = none. */
const redisUrl = z
  .string()
  .trim()
  .refine((v) => v === '' || isUrl(v, ['redis:', 'rediss:'], /^\/?(\d+)?$/), { message: 'must be redis://host:port[/db] or rediss://host:port[/db]' })

/** One or more comma-separated `nats://host:port` (or `tls://`) URLs; empty = none. */
const natsUrls = z
  .string()
  .trim()
  .superRefine((v, ctx) => {
    if (v === '') return
    for (const entry of v.split(',').map((e) => e.trim())) {
      if (!isUrl(entry, ['nats:', 'tls:'], /^\/?$/)) {
        ctx.addIssue({ code: 'custom', message: `must be nats://host:port URLs separated by commas; ${JSON.stringify(redact(entry))} is not one` })
        return
      }
    }
  })

function isUrl(value: string, protocols: readonly string[], path: RegExp): boolean {
  try {
    const u = new URL(value)
    return protocols.includes(u.protocol) && u.hostname !== '' && path.test(u.pathname) && u.search === '' && u.hash === ''
  } catch {
    return false
  }
}

/** A value with any `user:password@` in it shown as `user:***@` (start-up messages and logs). */
export function redact(value: string): string {
  return value.replace(/(\/\/[^/@:]*:)[^/@]*@/g, '$1***@')
}

interface SettingSpec<T> {
  env: string
  default: string
  schema: z.ZodType<T, string>
  doc: string
  /** A secret: a refusal names the setting but never echoes its value. */
  secret?: boolean
}
const setting = <T>(env: string, def: string, schema: z.ZodType<T, string>, doc: string, secret = false): SettingSpec<T> => ({
  env,
  default: def,
  schema,
  doc,
  ...(secret ? { secret } : {}),
})

/** Empty (the admin view is off) or a token long enough not to be guessed. */
const adminToken = z.string().refine((v) => v === '' || v.trim().length >= 16, { message: 'must be empty (admin view off) or at least 16 characters' })

/** The settings table. The README's settings table is checked against it by a test. */
export const settings = {
  port: setting('PORT', '8081', int(0, 65535), 'TCP port to listen on (0 = any free port).'),
  host: setting('HOST', '0.0.0.0', text.pipe(z.string().min(1, { message: 'must not be empty' })), 'Address to listen on.'),
  hostGraceMs: setting('PARTYLINE_HOST_GRACE_MS', '30000', int(0, TIMER_MAX_MS), 'How long a room waits for its host to resume after the host connection ends.'),
  playerGraceMs: setting('PARTYLINE_PLAYER_GRACE_MS', '30000', int(0, TIMER_MAX_MS), 'How long a player with a `sid` keeps its place after its connection ends.'),
  maxPlayers: setting('PARTYLINE_MAX_PLAYERS', '100', int(1, 100000), 'Upper bound of `max_players` in `prepare`.'),
  playerMaxFrame: setting('PARTYLINE_PLAYER_MAX_FRAME', '65536', int(1, 64 * 1024 * 1024), 'Largest frame a player may send, in bytes (over → close 1009).'),
  hostMaxFrame: setting('PARTYLINE_HOST_MAX_FRAME', '1048576', int(1, 256 * 1024 * 1024), 'Largest frame a host may send, in bytes (over → close 1009).'),
  allowedOrigins: setting('PARTYLINE_ALLOWED_ORIGINS', '', origins, 'Comma-separated origins allowed to open WebSockets; empty = any.'),
  joinAttemptsPerMinute: setting('PARTYLINE_JOIN_ATTEMPTS_PER_MINUTE', '30', int(1), 'Failed joins and unknown-code lookups per address per minute before 4029 / HTTP 429.'),
  roomsPerMinute: setting('PARTYLINE_ROOMS_PER_MINUTE', '30', int(1), 'Rooms one address may create per minute (past it `prepare` gets `error` rate_limited).'),
  maxBuffered: setting('PARTYLINE_MAX_BUFFERED', '1048576', int(1024), 'Send-buffer bound per connection, in bytes (what the kernel has not yet taken); past it the connection is closed with 1013.'),
  sendStallMs: setting('PARTYLINE_SEND_STALL_MS', '10000', int(100, TIMER_MAX_MS), 'How long a connection may leave what it was sent unread (a probe ping sent behind it unanswered) before a send closes it with 1013.'),
  hostFramesPerSecond: setting('PARTYLINE_HOST_FRAMES_PER_SECOND', '5000', int(1), 'Frames a host may send per second, on average; past it the server stops reading it until elapsed 100 ms ticks have paid for what it sent (a socket read past the budget is debt): TCP holds the rest back, nothing is dropped.'),
  playerFramesPerSecond: setting('PARTYLINE_PLAYER_FRAMES_PER_SECOND', '200', int(1), 'Frames a player (or `/ws/listen` client) may send per second, on average; past it, read no more until paid for, like hosts.'),
  maxConnections: setting('PARTYLINE_MAX_CONNECTIONS', '0', int(0), 'WebSocket connections in all (hosts, players, listeners); past it an upgrade gets HTTP 503. 0 = the descriptor limit less `PARTYLINE_FD_RESERVE`.'),
  fdReserve: setting('PARTYLINE_FD_RESERVE', '256', int(0), 'File descriptors kept from WebSockets for plain HTTP (`/healthz`, `/metrics`, the API), logs and files.'),
  hostsPerAddress: setting('PARTYLINE_HOSTS_PER_ADDRESS', '32', int(1), 'Host (`/CREATE`) connections one address may hold; past it an upgrade gets HTTP 429.'),
  playersPerAddress: setting('PARTYLINE_PLAYERS_PER_ADDRESS', '256', int(1), 'Player connections one address may hold (phones behind one NAT share it); past it HTTP 429.'),
  listenersPerAddress: setting('PARTYLINE_LISTENERS_PER_ADDRESS', '64', int(1), 'ClickPlanet `/ws/listen` connections one address may hold; past it HTTP 429.'),
  pingIntervalMs: setting('PARTYLINE_PING_INTERVAL_MS', '15000', int(50, TIMER_MAX_MS), 'WebSocket ping interval; a peer that misses two pings is dropped.'),
  codeCooldownMs: setting('PARTYLINE_CODE_COOLDOWN_MS', '600000', int(0, TIMER_MAX_MS), 'How long a freed room code is kept out of circulation.'),
  roomsPerMinuteTotal: setting('PARTYLINE_ROOMS_PER_MINUTE_TOTAL', '1200', int(1), 'Rooms this server creates per minute from all addresses together (past it `prepare` gets `error` rate_limited); keeps the room-code space from being drained by many addresses.'),
  keptFrames: setting('PARTYLINE_KEPT_FRAMES', '1000', int(0), 'Player frames kept per room while its host is away.'),
  keptBytes: setting('PARTYLINE_KEPT_BYTES', '1048576', int(0), 'Bytes of player frames kept per room while its host is away.'),
  cborMaxDepth: setting('PARTYLINE_CBOR_MAX_DEPTH', '16', int(1, 256), 'Deepest nesting accepted in a host frame.'),
  cborMaxContainers: setting('PARTYLINE_CBOR_MAX_CONTAINERS', '64', int(1, 1_000_000), 'Most maps and arrays, in all, a host frame may hold (CBOR and JSON; past it `error` too_complex).'),
  cborMaxMapEntries: setting('PARTYLINE_CBOR_MAX_MAP_ENTRIES', '64', int(1, 1_000_000), 'Most map entries, over all its maps, a host frame may hold (CBOR and JSON; past it `error` too_complex).'),
  trustProxy: setting('PARTYLINE_TRUST_PROXY', 'false', bool, 'Take the client address from the last `X-Forwarded-For` entry, the one your proxy appended (only behind a proxy you run).'),
  shutdownMs: setting('PARTYLINE_SHUTDOWN_MS', '4000', int(0, 60000), 'On SIGTERM, how long to wait for sockets to close before exiting.'),
  clickplanet: setting('PARTYLINE_CLICKPLANET', 'true', bool, 'Host ClickPlanet: the preset room `PLANET`, its HTTP routes and `/ws/listen`.'),
  clickRate: setting('PARTYLINE_CLICK_RATE', '10', int(0), 'ClickPlanet clicks per second per address (token bucket); 0 = unlimited.'),
  clickBurst: setting('PARTYLINE_CLICK_BURST', '20', int(1), 'ClickPlanet click burst per address (token bucket size).'),
  dataDir: setting('PARTYLINE_DATA_DIR', '', text, 'Directory for the ClickPlanet click log and snapshots; empty = in memory (lost on restart).'),
  map: setting('PARTYLINE_MAP', '', text, 'ClickPlanet map asset (`scripts/generate-map.ts` output); empty = the bundled default map.'),
  httpHeadersTimeoutMs: setting('PARTYLINE_HTTP_HEADERS_TIMEOUT_MS', '10000', int(100, 600_000), 'How long a client has to send a request\'s headers (slowloris); past it: 408 and close. At most the request timeout.'),
  httpRequestTimeoutMs: setting('PARTYLINE_HTTP_REQUEST_TIMEOUT_MS', '15000', int(100, 600_000), 'How long a client has to send a whole request, body included; past it: 408 and close.'),
  httpDiscardBytes: setting('PARTYLINE_HTTP_DISCARD_BYTES', '16777216', int(0, 1024 * 1024 * 1024), 'How much of a body over the limit is read and thrown away before the 413, so the client reads the 413 (larger: answered at once, and the client may see a reset).'),
  httpWriteTimeoutMs: setting('PARTYLINE_HTTP_WRITE_TIMEOUT_MS', '10000', int(100, TIMER_MAX_MS), 'A large answer whose write makes no progress for this long has its socket destroyed.'),
  httpConnectionsPerAddress: setting('PARTYLINE_HTTP_CONNECTIONS_PER_ADDRESS', '512', int(1), 'Plain HTTP connections one address may hold at once (a WebSocket leaves the count when upgraded); past it a new connection gets 429 too_many_connections at accept. Not applied with `PARTYLINE_TRUST_PROXY` (every connection comes from the proxy).'),
  httpLargeResponsesPerAddress: setting('PARTYLINE_HTTP_LARGE_RESPONSES_PER_ADDRESS', '8', int(1), 'Large answers (64 KiB or more) in flight per client address; past it: 429 too_many_large_responses.'),
  httpLargeResponses: setting('PARTYLINE_HTTP_LARGE_RESPONSES', '256', int(1), 'Large answers in flight in all; past it: 503 server_busy.'),
  httpResponseMemory: setting('PARTYLINE_HTTP_RESPONSE_MEMORY', '134217728', int(0), 'Bytes of distinct bodies that large answers in flight may hold (readers of one version share one body); past it: 503 server_busy.'),
  redisUrl: setting('REDIS_URL', '', redisUrl, 'Redis for the room directory, room records, node leases and snapshots (`redis://host:port[/db]`, `rediss://` for TLS); empty = in this process.'),
  natsUrl: setting('NATS_URL', '', natsUrls, 'NATS for traffic between nodes: one URL or a comma-separated list (`nats://a:4222,nats://b:4222`); empty = in this process. Needs `REDIS_URL`.'),
  nodeId: setting('PARTYLINE_NODE_ID', '', z.string().trim().regex(/^[A-Za-z0-9_-]{0,64}$/, { message: 'must be 1-64 characters of [A-Za-z0-9_-]' }), "This node's name, unique in the cluster; empty = the hostname and a random suffix."),
  nodeLeaseMs: setting('PARTYLINE_NODE_LEASE_MS', '5000', int(300, 600000), 'How long a node counts as alive after its last heartbeat in Redis.'),
  // ClickPlanet in a cluster (with NATS_URL: the click log is a JetStream stream; snapshots go to the Store).
  clicksStream: setting('PARTYLINE_CLICKS_STREAM', 'CLICKS', z.string().trim().regex(/^[A-Za-z0-9_-]{1,64}$/, { message: 'must be 1-64 characters of [A-Za-z0-9_-]' }), 'Name of the JetStream stream that holds the ClickPlanet clicks (with `NATS_URL`).'),
  clicksReplicas: setting('PARTYLINE_CLICKS_REPLICAS', '1', int(1, 5), 'Replicas of the clicks stream when a node creates it (3 in production, on a 3-node NATS cluster).'),
  clicksAckWaitMs: setting('PARTYLINE_CLICKS_ACK_WAIT_MS', '5000', int(100, 60_000), 'How long a click waits for JetStream to acknowledge it; past it the click is answered 503 (it may still be stored).'),
  clicksApplyWaitMs: setting('PARTYLINE_CLICKS_APPLY_WAIT_MS', '5000', int(100, 60_000), 'How long an acknowledged click waits for this node to apply it (so a read right after shows it); past it 503.'),
  clicksDuplicateWindowMs: setting('PARTYLINE_CLICKS_DUPLICATE_WINDOW_MS', '120000', int(1000, 86_400_000), 'How long JetStream remembers a click id, so a retried publish is stored once (set when the stream is created).'),
  snapshotIntervalMs: setting('PARTYLINE_SNAPSHOT_INTERVAL_MS', '60000', int(100, TIMER_MAX_MS), 'How often ClickPlanet saves a snapshot when clicks arrived (also after `PARTYLINE_SNAPSHOT_EVERY_CLICKS`); in a cluster one node at a time writes it to Redis.'),
  snapshotEveryClicks: setting('PARTYLINE_SNAPSHOT_EVERY_CLICKS', '100000', int(1), 'ClickPlanet saves a snapshot after this many clicks (or `PARTYLINE_SNAPSHOT_INTERVAL_MS`).'),
  adminToken: setting('PARTYLINE_ADMIN_TOKEN', '', adminToken, 'Bearer token of the admin view (`/admin`) and API (`/api/admin/*`), at least 16 characters; empty = both answer 404.', true),
  logLevel: setting('PARTYLINE_LOG_LEVEL', 'info', z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { message: 'must be one of fatal, error, warn, info, debug, trace, silent' }), 'Log level (pino).'),
} as const

export type Settings = { -readonly [K in keyof typeof settings]: z.output<(typeof settings)[K]['schema']> }

export class ConfigError extends Error {
  constructor(readonly setting: string, message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

/** `PARTYLINE_MAX_PLAYERS` → `--max-players`; `PORT` → `--port`. */
export function flagOf(env: string): string {
  return '--' + env.replace(/^PARTYLINE_/, '').toLowerCase().replaceAll('_', '-')
}

/**
 * Reads every setting from `argv` flags (`--name value` or `--name=value`) and `env`.
 * Throws ConfigError naming the first bad setting, or an unknown flag.
 */
export function loadSettings(env: NodeJS.ProcessEnv = process.env, argv: readonly string[] = []): Settings {
  const byFlag = new Map<string, string>()
  for (const [key, spec] of Object.entries(settings)) byFlag.set(flagOf(spec.env), key)
  const fromFlags = new Map<string, string>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const eq = arg.indexOf('=')
    const flag = eq === -1 ? arg : arg.slice(0, eq)
    const key = byFlag.get(flag)
    if (key === undefined) throw new ConfigError(flag, `partyline: unknown option ${flag} (see --help)`)
    let value: string | undefined
    if (eq !== -1) value = arg.slice(eq + 1)
    else value = argv[++i]
    if (value === undefined) throw new ConfigError(flag, `partyline: ${flag} needs a value`)
    fromFlags.set(key, value)
  }
  const out: Record<string, unknown> = {}
  for (const [key, spec] of Object.entries(settings)) {
    const raw = fromFlags.get(key) ?? env[spec.env] ?? spec.default
    const parsed = (spec.schema as z.ZodType<unknown, string>).safeParse(raw)
    if (!parsed.success) {
      const why = parsed.error.issues[0]?.message ?? 'is invalid'
      const got = (spec as SettingSpec<unknown>).secret ? `${raw.length} characters` : JSON.stringify(redact(raw))
      throw new ConfigError(spec.env, `partyline: setting ${spec.env} (${flagOf(spec.env)}) ${why}: got ${got}`)
    }
    out[key] = parsed.data
  }
  const result = out as Settings
  if (result.natsUrl !== '' && result.redisUrl === '') {
    throw new ConfigError(
      'NATS_URL',
      'partyline: setting NATS_URL (--nats-url) needs REDIS_URL (--redis-url): nodes sharing NATS keep their room directory and leases in Redis',
    )
  }
  return result
}

/** The settings with their defaults, as the tests and embedders start from. */
export function defaultSettings(overrides: Partial<Settings> = {}): Settings {
  return { ...loadSettings({}, []), ...overrides }
}

/** `--help` text: one line per setting. */
export function settingsHelp(): string {
  return Object.values(settings)
    .map((s) => `  ${flagOf(s.env).padEnd(30)} ${s.env.padEnd(36)} default ${JSON.stringify(s.default)}\n      ${s.doc}`)
    .join('\n')
}

/**
 * `PARTYLINE_*` variables in `env` that name no setting (a misspelling is otherwise silently
 * ignored), each with the closest real one when there is a likely match.
 */
export function unknownVariables(env: NodeJS.ProcessEnv): { name: string; suggestion: string | undefined }[] {
  const known = Object.values(settings).map((s) => s.env)
  return Object.keys(env)
    .filter((name) => name.startsWith('PARTYLINE_') && !known.includes(name))
    .sort()
    .map((name) => {
      const [best] = known.map((k) => [k, editDistance(name, k)] as const).sort((a, b) => a[1] - b[1])
      return { name, suggestion: best && best[1] <= Math.max(2, Math.floor(name.length / 5)) ? best[0] : undefined }
    })
}

/** Levenshtein distance, for "did you mean". */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    prev = row
  }
  return prev[b.length]!
}
