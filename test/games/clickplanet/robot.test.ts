import { createServer, request, type Server } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import t from 'tap'
import { runRobot, runRobotWith } from '../../../src/games/clickplanet/robot.js'
import { parseRobotArgs } from '../../../src/games/clickplanet/robot-options.js'
import { startHarness } from './harness.js'
import { batch, click, Listener, waitFor } from './helpers.js'

t.test('robot - flags as the reference, bad ones named with exit code 2', async (t) => {
  t.same(parseRobotArgs(['--target-country', 'ru', '--wanted-country', 'fr', '--host', 'localhost', '--port', '3000', '--unsecure']), {
    targetCountry: 'ru', wantedCountry: 'fr', host: 'localhost', port: 3000, secure: false, recheckSeconds: 120, maxInFlight: 4,
  })
  t.equal(parseRobotArgs(['--target-country', 'ru', '--wanted-country', 'fr']).port, 443)
  t.throws(() => parseRobotArgs(['--target-country', 'ru']), /--wanted-country is required/)
  t.throws(() => parseRobotArgs(['--target-country', 'zz', '--wanted-country', 'fr']), /--target-country must be/)
  t.throws(() => parseRobotArgs(['--target-country', 'ru', '--wanted-country', 'fr', '--port', '70000']), /--port must be/)
  t.throws(() => parseRobotArgs(['--target-country', 'ru', '--wanted-country', 'fr', '--bogus']), /--bogus/)
  t.equal(await runRobot(['--target-country', 'ru', '--wanted-country', 'fr', '--speed', '9']), 2)
})

t.test('robot - takes back a tile of the territory lost to another country', async (t) => {
  const h = await startHarness()
  t.teardown(() => h.close())
  const territory = Array.from(h.planet.map.tilesOf('fr')!)
  t.ok(territory.length >= 3, `fr has ${territory.length} tiles on the small map`)
  const [first, second, third] = territory as [number, number, number]
  // Before the robot starts: a tile already lost, found by its first recheck.
  await click(h.base, first, 'de')
  const { lines, stop, done } = startRobot(t, ['--target-country', 'fr', '--wanted-country', 'be', '--host', '127.0.0.1', '--port', String(h.port), '--unsecure'])
  const owner = async (tile: number): Promise<string | undefined> => (await batch(h.base, tile, tile))[0]?.countryId
  await waitFor('the robot to reclaim the tile lost before it started', async () => ((await owner(first)) === 'be' ? true : undefined))
  await waitFor('the robot to listen', () => (h.planet.stats.listeners >= 1 ? true : undefined))

  const watch = await Listener.open(`${h.wsBase}/ws/listen`)
  t.teardown(() => watch.close())
  await click(h.base, second, 'it')
  await click(h.base, third, 'be') // the wanted country: left alone
  await watch.waitCount(3)
  t.same(
    watch.updates.filter((u) => u.tileId === second),
    [{ tileId: second, countryId: 'it', previousCountryId: '' }, { tileId: second, countryId: 'be', previousCountryId: 'it' }],
    'taken back at once, from the stream',
  )
  t.equal(await owner(third), 'be')
  t.ok(lines.some((l) => l.startsWith(`tile ${second} taken by it`)), 'says what it saw')
  t.ok(lines.some((l) => l === `reclaimed tile ${second} for be`), 'and what it did')
  stop.abort()
  t.equal(await done, 0, 'stops cleanly on abort')
  t.equal(lines.at(-1), 'stopped')
})

t.test('robot - waits on 429 and retries', async (t) => {
  const h = await startHarness({ clickRate: 2, clickBurst: 1 })
  t.teardown(() => h.close())
  const territory = Array.from(h.planet.map.tilesOf('de')!).slice(0, 3)
  for (const tile of territory) {
    await waitFor('a token', async () => {
      try { await click(h.base, tile, 'pl'); return true } catch { await new Promise((r) => setTimeout(r, 100)); return undefined }
    })
  }
  const { lines, stop, done } = startRobot(t, ['--target-country', 'de', '--wanted-country', 'at', '--host', '127.0.0.1', '--port', String(h.port), '--unsecure', '--max-in-flight', '3'])
  await waitFor('all reclaimed despite the limit', async () => {
    const owned = await batch(h.base, 0, h.planet.map.tileCount)
    return territory.every((tile) => owned.find((o) => o.tileId === tile)?.countryId === 'at') ? true : undefined
  }, 20_000)
  t.ok(lines.some((l) => l.startsWith('rate limited, waiting')), 'it saw 429 and waited')
  stop.abort()
  t.equal(await done, 0)
})

/**
 * A pass-through proxy in front of the server (HTTP and WebSocket upgrades) that can hold the
 * answers to `POST /api/click`: the click reaches the server and is applied, but the robot
 * does not learn it completed until the gate opens, so "a click in flight" lasts as long as
 * the test needs, without timing luck.
 */
class ClickGate {
  readonly held: (() => void)[] = []
  #closed = false
  readonly #server: Server
  private constructor(server: Server) { this.#server = server }

  static async start(port: number): Promise<ClickGate> {
    const server = createServer()
    const gate = new ClickGate(server)
    server.on('request', (req, res) => {
      const up = request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        const reply = (): void => {
          res.writeHead(answer.statusCode ?? 502, answer.headers)
          answer.pipe(res)
        }
        if (gate.#closed && req.url === '/api/click') gate.held.push(reply)
        else reply()
      })
      up.on('error', () => res.destroy())
      req.pipe(up)
    })
    server.on('upgrade', (req, socket, head: Buffer) => {
      const up = connect(port, '127.0.0.1', () => {
        const lines = [`${req.method} ${req.url} HTTP/1.1`]
        for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`)
        up.write(`${lines.join('\r\n')}\r\n\r\n`)
        up.write(head)
        socket.pipe(up).pipe(socket)
      })
      up.on('error', () => socket.destroy())
      socket.on('error', () => up.destroy())
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return gate
  }

  get port(): number { return (this.#server.address() as AddressInfo).port }
  hold(): void { this.#closed = true }
  release(): void {
    this.#closed = false
    for (const reply of this.held.splice(0)) reply()
  }
  close(): Promise<void> {
    this.#server.closeAllConnections()
    return new Promise((resolve) => this.#server.close(() => resolve()))
  }
}

t.test('robot - a tile retaken while its own click is in flight is clicked again when that click completes', async (t) => {
  const h = await startHarness()
  t.teardown(() => h.close())
  const gate = await ClickGate.start(h.port)
  t.teardown(() => gate.close())
  const tile = h.planet.map.tilesOf('fr')![0]!
  // A recheck an hour away: only the stream can bring the tile back within the test.
  const { lines, stop, done } = startRobot(t, ['--target-country', 'fr', '--wanted-country', 'be', '--host', '127.0.0.1', '--port', String(gate.port), '--unsecure', '--recheck-seconds', '3600'])
  await waitFor('the robot to listen and finish its first recheck', () =>
    (h.planet.stats.listeners >= 1 && lines.some((l) => l.startsWith('recheck (start)')) ? true : undefined))
  const owner = async (): Promise<string | undefined> => (await batch(h.base, tile, tile))[0]?.countryId

  gate.hold()
  await click(h.base, tile, 'de')
  await waitFor('the robot\'s click to be applied, its answer held', async () =>
    (gate.held.length === 1 && (await owner()) === 'be' ? true : undefined))
  // The rival keeps clicking, a few ms apart, while the robot's click is in flight.
  const rivals = ['de', 'it', 'de', 'it', 'de']
  for (const cc of rivals) await click(h.base, tile, cc)
  const taken = (): number => lines.filter((l) => l.startsWith(`tile ${tile} taken by`)).length
  await waitFor('the robot to see every rival update', () => (taken() >= 1 + rivals.length ? true : undefined))
  t.equal(await owner(), 'de', 'the rival holds the tile while the robot\'s click is still in flight')

  gate.release()
  await waitFor('the tile to be the wanted country\'s again', async () => ((await owner()) === 'be' ? true : undefined), 5_000)
  t.pass('taken back without waiting for a recheck')
  stop.abort()
  t.equal(await done, 0)
})

/** Runs the robot in this process with `args`; its lines are collected and a test's end stops it. */
function startRobot(t: { teardown(fn: () => unknown): void }, args: string[]): { lines: string[]; stop: AbortController; done: Promise<number> } {
  const lines: string[] = []
  const stop = new AbortController()
  t.teardown(() => stop.abort())
  const done = runRobotWith(args, { signal: stop.signal, out: (l) => lines.push(l), handleSigint: false })
  return { lines, stop, done }
}
