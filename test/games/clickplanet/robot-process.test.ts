/**
 * `partyline robot` as an operator runs it: a separate process with the reference's flags,
 * against a real server; it takes back a lost tile, follows the server through a restart,
 * and stops on Ctrl-C (SIGINT) with exit code 0.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { until } from '../../helpers/server.js'
import { startHarness } from './harness.js'
import { batch, click } from './helpers.js'

const main = fileURLToPath(new URL('../../../src/main.ts', import.meta.url))

t.test('robot process - takes back a lost tile, reconnects after a restart, exits 0 on SIGINT', async (t) => {
  let h = await startHarness()
  t.teardown(() => h.close())
  const port = h.port
  const territory = Array.from(h.planet.map.tilesOf('fr')!)
  const child = spawn(process.execPath, ['--import=tsx', main, 'robot', '--target-country', 'fr', '--wanted-country', 'be', '--host', '127.0.0.1', '--port', String(port), '--unsecure'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  t.teardown(() => child.kill('SIGKILL'))
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (out += d.toString()))
  let exit: number | null | undefined
  child.on('exit', (code) => (exit = code))
  await until(() => h.planet.stats.listeners >= 1, 'the robot to listen to the stream', 20_000)

  const owner = async (base: string, tile: number): Promise<string | undefined> => (await batch(base, tile, tile))[0]?.countryId
  const lost = territory[0]!
  await click(h.base, lost, 'de')
  await until(() => out.includes(`reclaimed tile ${lost} for be`), 'the robot to reclaim the tile', 10_000)
  t.equal(await owner(h.base, lost), 'be', 'the tile is the wanted country\'s again')
  t.match(out, new RegExp(`tile ${lost} taken by de`), 'it says what it saw')

  // The server goes away and comes back on the same port: the robot reconnects by itself.
  await h.close()
  await until(() => /reconnecting in/.test(out), 'the robot to notice', 10_000)
  h = await startHarness({ port })
  await until(() => h.planet.stats.listeners >= 1, 'the robot to come back', 30_000)
  const again = territory[1]!
  await click(h.base, again, 'it')
  await until(() => out.includes(`reclaimed tile ${again} for be`), 'a reclaim on the new server', 10_000)

  child.kill('SIGINT')
  await until(() => exit !== undefined, 'the robot to exit', 10_000)
  t.equal(exit, 0, 'Ctrl-C stops it cleanly')
  t.match(out, /stopped\s*$/)
})
