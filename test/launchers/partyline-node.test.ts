import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { PartylineNode } from '../../src/launchers/partyline-node.js'
import { accepts, freePort } from '../../src/launchers/spawned-server.js'

const command = { file: process.execPath, args: ['--import=tsx', fileURLToPath(new URL('../../src/main.ts', import.meta.url))] }

t.test('partyline node launcher - a real `partyline serve` with its id, port and data dir; kill -9 and restart keep them; stop removes the dir', async (t) => {
  const parentDir = await mkdtemp(join(tmpdir(), 'partyline-node-'))
  t.teardown(() => rm(parentDir, { recursive: true, force: true }))
  const node = await PartylineNode.start({ id: 'alpha', port: await freePort(), parentDir, command, args: ['--clickplanet', 'false', '--log-level', 'warn'] })
  t.teardown(() => node.stop())
  t.equal(node.dir, join(parentDir, 'alpha'))
  t.ok(existsSync(node.dir), 'its data directory exists')
  t.match(await node.readiness(), { status: 200, body: { status: 'ready' } })
  const metrics = await (await fetch(`${node.url}/metrics`)).text()
  t.match(metrics, 'partyline_node_info{node="alpha",store="memory",bus="memory"} 1', 'PARTYLINE_NODE_ID reached it')

  await node.kill()
  t.equal(node.running, false)
  t.match(await node.exited, { signal: 'SIGKILL' })
  t.equal(await node.readiness(), undefined, 'nothing answers after kill -9')
  await node.restart()
  t.match(await node.readiness(), { status: 200 }, 'back on the same port')
  t.ok(existsSync(node.dir), 'the data directory is kept')

  await node.stop()
  t.match(await node.exited, { code: 0 }, 'SIGTERM: a clean exit')
  t.equal(await accepts(node.port), false, 'port closed')
  t.equal(existsSync(node.dir), false, 'data directory removed')
})

t.test('partyline node launcher - a node that cannot start rejects with its own output', async (t) => {
  const parentDir = await mkdtemp(join(tmpdir(), 'partyline-node-'))
  t.teardown(() => rm(parentDir, { recursive: true, force: true }))
  await t.rejects(PartylineNode.start({ id: 'beta', port: await freePort(), parentDir, command, args: ['--max-players', 'lots'] }), {
    message: /partyline node beta on http:\/\/127\.0\.0\.1:\d+ exited before it was ready:\n.*PARTYLINE_MAX_PLAYERS/,
  })
  t.equal(existsSync(join(parentDir, 'beta')), false, 'its directory is removed')
  await t.rejects(PartylineNode.create({ id: 'gamma', port: 0, parentDir }), { message: /needs a real port/ })
})
