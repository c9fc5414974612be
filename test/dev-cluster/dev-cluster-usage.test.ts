/**
 * `partyline dev-cluster` refusing to start: NATS or Redis not installed, bad usage. Each is a
 * real process with a TMPDIR of its own, left empty.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm, symlink } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { clusterDirs, devCluster, processesNaming } from './dev-cluster-run.js'

t.test('dev-cluster - without nats-server or redis-server on the PATH: exit 2 saying how to install them, nothing left behind', async (t) => {
  const empty = await mkdtemp(join(tmpdir(), 'empty-path-'))
  t.teardown(() => rm(empty, { recursive: true, force: true }))
  const neither = await devCluster(t, ['--port', '0'], { ...process.env, PATH: empty })
  t.equal(await neither.exited(), 2)
  t.match(neither.err, 'nats-server and redis-server are not on the PATH')
  t.match(neither.err, 'apt-get install nats-server redis-server')
  t.same(await clusterDirs(neither), [], 'no directory left')

  // Only Redis installed: it is started, then stopped when NATS turns out to be missing.
  const onlyRedis = await mkdtemp(join(tmpdir(), 'redis-only-path-'))
  t.teardown(() => rm(onlyRedis, { recursive: true, force: true }))
  const redisPath = await new Promise<string>((resolve, reject) => {
    const which = spawn('sh', ['-c', 'command -v redis-server'], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    which.stdout.on('data', (d: Buffer) => (out += d.toString()))
    which.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error('redis-server is not installed'))))
  })
  await symlink(redisPath, join(onlyRedis, 'redis-server'))
  const noNats = await devCluster(t, ['--port', '0'], { ...process.env, PATH: onlyRedis })
  t.equal(await noNats.exited(), 2)
  t.match(noNats.err, 'nats-server is not on the PATH')
  t.match(noNats.err, 'apt-get install nats-server`')
  t.notMatch(noNats.err, 'redis-server is not', 'redis-server is not named')
  t.same(await processesNaming(noNats.tmp), [], 'the redis-server it started is stopped')
  t.same(await clusterDirs(noNats), [], 'no directory left')
})

t.test('dev-cluster - bad usage exits 2 naming the problem before anything starts; --help documents it', async (t) => {
  const taken = createServer()
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
  t.teardown(() => taken.close())
  const port = (taken.address() as { port: number }).port
  const cases: Array<[string[], RegExp]> = [
    [['--nodes', '0'], /--nodes must be a whole number from 1 to 16, got "0"/],
    [['--nodes', 'three'], /--nodes must be a whole number/],
    [['--port', '65535', '--nodes', '2'], /--port 65535 leaves no room for 2 nodes/],
    [['--what'], /Unknown option '--what'/],
    [['--', '--port', '9000'], /--port is set by dev-cluster for each node \(PORT\)/],
    [['--', '--redis-url=redis://elsewhere:6379'], /--redis-url is set by dev-cluster/],
    [['--', '--bogus', '1'], /serve option after --: unknown option --bogus/],
    [['--', '--max-players', 'lots'], /serve option after --: setting PARTYLINE_MAX_PLAYERS \(--max-players\) must be a whole number/],
    [['--nodes', '1', '--port', String(port)], new RegExp(`port ${port} on 127\\.0\\.0\\.1 is taken; pass another --port, or --port 0`)],
  ]
  // Side by side: each is a process of its own and none starts a server.
  const runs = await Promise.all(cases.map(([args]) => devCluster(t, args)))
  for (const [i, [args, message]] of cases.entries()) {
    const run = runs[i]!
    t.equal(await run.exited(), 2, args.join(' '))
    t.match(run.err, message, args.join(' '))
    t.same(await clusterDirs(run), [], `${args.join(' ')}: nothing started`)
  }
  const help = await devCluster(t, ['--help'])
  t.equal(await help.exited(), 0)
  for (const part of ['--nodes <n>', '--port <port>', '0: a free port for each node', '-- <serve options>', 'Ctrl-C', 'apt-get install nats-server redis-server'])
    t.match(help.out, part, `--help mentions ${part}`)
})
