/**
 * The server driven exactly as an original WMBP game page drives it: CBOR maps from a
 * standard CBOR library (not the server's), `to.data` as an array of ints, a 4-letter code
 * checked before joining, and the page's dispatch on `cmd`, which handles `prepare_reply`,
 * `state`, `from`, `from_str`, `error` and `stop` and logs anything else as unknown.
 *
 * The original server also sent `player_joined` / `player_left` (spec part 1), which the
 * original page logs as unknown; that is the original behaviour, so the test allows those
 * two and nothing else: partyline's additions (`token`, `code`, `dropped`) are extra keys
 * the page ignores, never extra messages.
 */
import cbor from 'cbor'
import t from 'tap'
import { WebSocket } from 'ws'
import { testServer, until } from './helpers/server.js'

/** Sent by the original server too, and logged as unknown by the original page. */
const ORIGINAL_UNHANDLED = new Set(['player_joined', 'player_left'])

interface PageLog {
  code: string | undefined
  states: { players: number[]; max_players: number; accept_conns: boolean; name: unknown }[]
  fromBinary: [number, number[]][]
  fromText: [number, string][]
  errors: string[]
  stopped: boolean
  unknown: Record<string, unknown>[]
}

/** The game page: its socket and its `onmessage` switch, as the original page has them. */
class GamePage {
  readonly log: PageLog = { code: undefined, states: [], fromBinary: [], fromText: [], errors: [], stopped: false, unknown: [] }
  readonly ws: WebSocket
  /** Every frame checked as one standard CBOR item (no trailing bytes), kept for the asserts. */
  readonly raw: Record<string, unknown>[] = []
  closeCode: number | undefined

  constructor(server: string) {
    this.ws = new WebSocket(`${server}/CREATE`)
    this.ws.binaryType = 'arraybuffer'
    this.ws.on('close', (code) => (this.closeCode = code))
    this.ws.on('message', (data: ArrayBuffer, isBinary: boolean) => {
      if (!isBinary) throw new Error('the original page only reads binary frames')
      const items = cbor.decodeAllSync(Buffer.from(data)) as unknown[]
      if (items.length !== 1) throw new Error(`a frame held ${items.length} CBOR items`)
      const msg = items[0] as Record<string, unknown>
      this.raw.push(msg)
      this.#onmessage(msg)
    })
  }

  #onmessage(msg: Record<string, unknown>): void {
    switch (msg.cmd) {
      case 'prepare_reply':
        this.log.code = msg.key as string
        break
      case 'state':
        this.log.states.push({
          players: msg.players as number[],
          max_players: msg.max_players as number,
          accept_conns: msg.accept_conns as boolean,
          name: msg.name,
        })
        break
      case 'from':
        this.log.fromBinary.push([msg.from as number, [...new Uint8Array(msg.data as Uint8Array)]])
        break
      case 'from_str':
        this.log.fromText.push([msg.from as number, msg.data as string])
        break
      case 'error':
        this.log.errors.push(msg.reason as string)
        break
      case 'stop':
        this.log.stopped = true
        break
      default:
        this.log.unknown.push(msg)
    }
  }

  send(message: Record<string, unknown>): void {
    this.ws.send(cbor.encode(message))
  }

  get players(): number[] {
    return this.log.states.at(-1)?.players ?? []
  }
}

/** A phone page: refuses a code whose length is not 4, then talks bare frames. */
class PhonePage {
  readonly ws: WebSocket
  readonly got: (string | number[])[] = []
  closeCode: number | undefined

  constructor(server: string, typed: string) {
    if (typed.length !== 4) throw new Error('the original client refuses codes that are not 4 characters')
    this.ws = new WebSocket(`${server}/${typed}`)
    this.ws.binaryType = 'arraybuffer'
    this.ws.on('message', (data: ArrayBuffer | Buffer, isBinary: boolean) =>
      this.got.push(isBinary ? [...new Uint8Array(data as ArrayBuffer)] : Buffer.from(data as Buffer).toString('utf8')),
    )
    this.ws.on('close', (code) => (this.closeCode = code))
  }

  opened(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve())
      this.ws.once('error', reject)
    })
  }
}

t.test('wmbp page - an original game page and its phones play a whole round', async (t) => {
  const server = await testServer(t)
  const page = new GamePage(server.ws)
  await new Promise((resolve) => page.ws.once('open', resolve))
  page.send({ cmd: 'prepare', max_players: 4 })
  await until(() => page.log.code !== undefined && page.log.states.length === 1, 'prepare_reply and state')
  const code = page.log.code!
  t.match(code, /^[A-Z]{4}$/, 'a 4-letter code the phone page accepts')
  t.same(page.log.states[0], { players: [], max_players: 4, accept_conns: true, name: '' })

  const alice = new PhonePage(server.ws, code.toLowerCase())
  await alice.opened()
  await until(() => page.players.length === 1, 'alice in state')
  const bob = new PhonePage(server.ws, code)
  await bob.opened()
  await until(() => page.players.length === 2, 'bob in state')
  const [aliceId, bobId] = page.players as [number, number]

  alice.ws.send('ready')
  bob.ws.send(Uint8Array.from([3, 1, 4]))
  await until(() => page.log.fromText.length === 1 && page.log.fromBinary.length === 1, 'both phones heard')
  t.same(page.log.fromText, [[aliceId, 'ready']])
  t.same(page.log.fromBinary, [[bobId, [3, 1, 4]]])

  page.send({ cmd: 'to', to: [aliceId], data: [0, 128, 255] })
  page.send({ cmd: 'to_str', to: [aliceId, bobId], data: 'question 1' })
  await until(() => alice.got.length === 2 && bob.got.length === 1, 'frames at the phones')
  t.same(alice.got, [[0, 128, 255], 'question 1'], 'the int array arrives as bytes')
  t.same(bob.got, ['question 1'])

  page.send({ cmd: 'start' })
  await until(() => page.log.states.at(-1)?.accept_conns === false, 'started state')
  page.send({ cmd: 'to', to: [aliceId], data: [1, 256] })
  await until(() => page.log.errors.length === 1, 'an error the page shows')
  t.type(page.log.errors[0], 'string')
  t.ok(page.log.errors[0]!.length > 0, 'error has a reason for the page to show')

  page.send({ cmd: 'kick', player: bobId })
  await until(() => page.players.length === 1, 'bob gone from state')
  await until(() => bob.closeCode !== undefined, 'bob closed')
  page.send({ cmd: 'stop' })
  await until(() => page.log.stopped && page.closeCode !== undefined && alice.closeCode !== undefined, 'stop')
  t.equal(page.closeCode, 1000)

  const unknownCmds = page.log.unknown.map((m) => m.cmd)
  t.same(
    unknownCmds.filter((c) => !ORIGINAL_UNHANDLED.has(String(c))),
    [],
    'nothing the original page does not know arrived (besides what the original server sent too)',
  )
  t.same(unknownCmds, ['player_joined', 'player_joined', 'player_left'], 'exactly the original server\'s join and leave notices')
  for (const m of page.raw) {
    t.ok(Object.keys(m).every((k) => typeof k === 'string') && typeof m.cmd === 'string', `${String(m.cmd)}: a text-keyed map`)
    if (m.cmd === 'from') t.ok(Buffer.isBuffer(m.data), 'from.data: a plain byte string (no tag)')
  }
  const reply = page.raw.find((m) => m.cmd === 'prepare_reply')!
  t.ok(typeof reply.token === 'string', 'the token rides along as an extra key the page ignores')
})
