import t from 'tap'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { ConfigError, flagOf, loadSettings, settings } from '../src/config.js'

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url))

t.test('config - defaults of the contract', async (t) => {
  const s = loadSettings({}, [])
  t.equal(s.port, 8081)
  t.equal(s.hostGraceMs, 30000)
  t.equal(s.playerMaxFrame, 64 * 1024)
  t.equal(s.hostMaxFrame, 1024 * 1024)
  t.same(s.allowedOrigins, [])
})

t.test('config - env and flags; a flag wins over the environment', async (t) => {
  const s = loadSettings({ PORT: '9000', PARTYLINE_MAX_PLAYERS: '12', PARTYLINE_ALLOWED_ORIGINS: 'https://a.example, http://b.example:8080/' }, ['--port', '9100', '--host-grace-ms=500'])
  t.equal(s.port, 9100)
  t.equal(s.maxPlayers, 12)
  t.equal(s.hostGraceMs, 500)
  t.same(s.allowedOrigins, ['https://a.example', 'http://b.example:8080'])
})

t.test('config - every setting has an env variable and a flag derived from it', async (t) => {
  for (const spec of Object.values(settings)) t.match(flagOf(spec.env), /^--[a-z][a-z-]*$/)
  t.equal(flagOf('PARTYLINE_JOIN_ATTEMPTS_PER_MINUTE'), '--join-attempts-per-minute')
})

t.test('config - a bad value names the setting', async (t) => {
  const cases: [NodeJS.ProcessEnv, string[], RegExp][] = [
    [{ PORT: 'eighty' }, [], /PORT \(--port\) must be a whole number/],
    [{ PORT: '70000' }, [], /PORT .* at most 65535/],
    [{}, ['--max-players', '0'], /PARTYLINE_MAX_PLAYERS .* at least 1/],
    [{ PARTYLINE_ALLOWED_ORIGINS: 'not a url' }, [], /PARTYLINE_ALLOWED_ORIGINS/],
    [{ PARTYLINE_TRUST_PROXY: 'maybe' }, [], /PARTYLINE_TRUST_PROXY .* true or false/],
    [{}, ['--no-such-thing', '1'], /unknown option --no-such-thing/],
    [{}, ['--port'], /--port needs a value/],
    // Node timers fire at once past 2^31 − 1 ms: a longer grace would end rooms immediately.
    [{ PARTYLINE_HOST_GRACE_MS: '3000000000' }, [], /PARTYLINE_HOST_GRACE_MS .* at most 2147483647/],
    [{}, ['--player-grace-ms', '2147483648'], /PARTYLINE_PLAYER_GRACE_MS .* at most 2147483647/],
    [{ PARTYLINE_PING_INTERVAL_MS: '9999999999' }, [], /PARTYLINE_PING_INTERVAL_MS .* at most 2147483647/],
  ]
  for (const [env, argv, re] of cases) {
    let caught: unknown
    try {
      loadSettings(env, argv)
    } catch (e) {
      caught = e
    }
    t.ok(caught instanceof ConfigError, `refused: ${re.source}`)
    t.match((caught as Error | undefined)?.message, re)
  }
})

t.test('config - `partyline serve` with a bad setting exits 2 with a message naming it', async (t) => {
  const child = spawn(process.execPath, ['--import=tsx', main, 'serve', '--player-max-frame', 'big'], { stdio: ['ignore', 'ignore', 'pipe'] })
  let err = ''
  child.stderr.on('data', (d: Buffer) => (err += d.toString()))
  const code = await new Promise((r) => child.on('exit', r))
  t.equal(code, 2)
  t.match(err, /PARTYLINE_PLAYER_MAX_FRAME \(--player-max-frame\) must be a whole number/)
})

t.test('config - engines: URLs, node id and lease are checked; NATS_URL needs REDIS_URL', async (t) => {
  const ok = loadSettings({ REDIS_URL: 'redis://cache:6380/2', NATS_URL: 'nats://a:4222, nats://b:4222', PARTYLINE_NODE_ID: 'node-1_a', PARTYLINE_NODE_LEASE_MS: '3000' }, [])
  t.equal(ok.redisUrl, 'redis://cache:6380/2')
  t.equal(ok.natsUrl, 'nats://a:4222, nats://b:4222')
  t.equal(ok.nodeId, 'node-1_a')
  t.equal(ok.nodeLeaseMs, 3000)
  t.same([loadSettings({}, []).redisUrl, loadSettings({}, []).natsUrl, loadSettings({}, []).nodeId], ['', '', ''], 'empty by default: in-process engines')
  t.equal(loadSettings({ REDIS_URL: 'rediss://user:secret@cache:6380' }, []).redisUrl, 'rediss://user:secret@cache:6380')
  const cases: [NodeJS.ProcessEnv, RegExp][] = [
    [{ REDIS_URL: 'http://cache:6379' }, /REDIS_URL \(--redis-url\) must be redis:\/\/host:port\[\/db\]/],
    [{ REDIS_URL: 'redis://cache:6379/zero' }, /REDIS_URL .* must be redis:\/\//],
    [{ REDIS_URL: 'cache:6379' }, /REDIS_URL/],
    [{ REDIS_URL: 'redis://r', NATS_URL: 'nats://a:4222,localhost' }, /NATS_URL \(--nats-url\) must be nats:\/\/host:port URLs .*"localhost" is not one/],
    [{ REDIS_URL: 'redis://r', NATS_URL: 'http://a:4222' }, /NATS_URL .* "http:\/\/a:4222" is not one/],
    [{ NATS_URL: 'nats://a:4222' }, /NATS_URL \(--nats-url\) needs REDIS_URL \(--redis-url\)/],
    [{ PARTYLINE_NODE_ID: 'has space' }, /PARTYLINE_NODE_ID \(--node-id\) must be 1-64 characters of \[A-Za-z0-9_-\]/],
    [{ PARTYLINE_NODE_ID: 'x'.repeat(65) }, /PARTYLINE_NODE_ID/],
    [{ PARTYLINE_NODE_LEASE_MS: '50' }, /PARTYLINE_NODE_LEASE_MS .* at least 300/],
  ]
  for (const [env, re] of cases) t.throws(() => loadSettings(env, []), re, re.source)
})

t.test('config - a refused URL is echoed without its password', async (t) => {
  t.throws(() => loadSettings({ REDIS_URL: 'http://user:hunter2@cache:6379' }, []), { message: /"http:\/\/user:\*\*\*@cache:6379"/ })
  let message = ''
  try {
    loadSettings({ REDIS_URL: 'http://user:hunter2@cache:6379' }, [])
  } catch (e) {
    message = (e as Error).message
  }
  t.notMatch(message, /hunter2/)
})

t.test('config - `partyline serve` with NATS_URL but no REDIS_URL exits 2 naming both', async (t) => {
  const child = spawn(process.execPath, ['--import=tsx', main, 'serve', '--nats-url', 'nats://127.0.0.1:1'], { stdio: ['ignore', 'ignore', 'pipe'] })
  let err = ''
  child.stderr.on('data', (d: Buffer) => (err += d.toString()))
  const code = await new Promise((r) => child.on('exit', r))
  t.equal(code, 2)
  t.match(err, /NATS_URL.*needs REDIS_URL/)
})
