import { existsSync } from 'node:fs'
import t from 'tap'
import { ask, accepts } from '../../src/launchers/spawned-server.js'
import { RedisServer } from '../../src/launchers/redis-server.js'

const set = (key: string, value: string) => `SET ${key} ${value}\r\n`

t.test('redis launcher - on a free port (never 6379): answers, stops and leaves nothing behind', async (t) => {
  const server = await RedisServer.start()
  t.not(server.port, 6379)
  t.match(server.url, /^redis:\/\/127\.0\.0\.1:\d+$/)
  t.equal(await ask(server.port, set('k', 'v')), '+OK\r\n')
  t.equal(await ask(server.port, 'GET k\r\n'), '$1\r\nv\r\n')
  await server.stop()
  t.equal(await accepts(server.port), false, 'port closed')
  t.equal(existsSync(server.dir), false, 'temp dir removed')
})

t.test('redis launcher - kill -9 then restart: the same port; without persistence the data is gone', async (t) => {
  const server = await RedisServer.start()
  t.teardown(() => server.stop())
  await ask(server.port, set('k', 'v'))
  await server.kill()
  t.equal(await accepts(server.port), false, 'down after kill -9')
  await server.restart()
  t.equal(await ask(server.port, 'GET k\r\n'), '$-1\r\n', 'empty')
})

t.test('redis launcher - with an append-only file, data survives kill -9; restart({ empty }) drops it', async (t) => {
  const server = await RedisServer.start({ appendonly: true })
  t.teardown(() => server.stop())
  t.equal(await ask(server.port, set('k', 'kept')), '+OK\r\n')
  await server.kill()
  await server.restart()
  t.equal(await ask(server.port, 'GET k\r\n'), '$4\r\nkept\r\n', 'loaded from the AOF')
  await server.kill()
  await server.restart({ empty: true })
  t.equal(await ask(server.port, 'GET k\r\n'), '$-1\r\n', 'started empty')
})

t.test('redis launcher - a missing binary is an error that says how to install it', async (t) => {
  await t.rejects(RedisServer.start({ command: 'redis-server-not-installed' }), {
    name: 'MissingBinaryError',
    message: /redis-server-not-installed was not found on the PATH.*apt-get install redis-server/,
  })
})
