/**
 * Hostile and broken HTTP clients: headers trickled for ever (slowloris), a chunked body
 * that never ends, bodies far over the limit, headers too large, garbage. Each gets a
 * status and a registered code it can read, and the server keeps serving everyone else.
 */
import type { Socket } from 'node:net'
import t from 'tap'
import { encodeClickRequest } from '../../src/games/clickplanet/messages.js'
import { SMALL_MAP } from '../games/clickplanet/harness.js'
import { rawExchange, rawJson } from '../helpers/raw-http.js'
import { httpGet, testServer, until } from '../helpers/server.js'

const MB = 1_000_000

/** Writes `piece` every `everyMs` until the socket closes or `max` pieces went out (a bounded trickle). */
function trickle(socket: Socket, piece: string, everyMs: number, max: number): void {
  let sent = 0
  const timer = setInterval(() => {
    if (socket.destroyed || !socket.writable || ++sent > max) return clearInterval(timer)
    socket.write(piece)
  }, everyMs)
  socket.once('close', () => clearInterval(timer))
}

const planet = { clickplanet: true, map: SMALL_MAP, clickRate: 0 } as const

t.test('http - slowloris: headers trickled a byte at a time get 408 request_timeout and the connection is closed', async (t) => {
  const server = await testServer(t, { httpHeadersTimeoutMs: 500, httpRequestTimeoutMs: 1000 })
  const answer = await rawExchange(server.port, (socket) => {
    socket.write('GET /healthz HTTP/1.1\r\nHost: partyline\r\nX-Slow: ')
    trickle(socket, 'a', 50, 400)
    socket.on('error', () => {})
  })
  t.equal(answer.status, 408)
  t.match(rawJson(answer), { code: 'request_timeout', error: String })
  t.match(answer.text, /connection: close/i)
  t.equal((await httpGet(server, '/healthz')).status, 200, 'everyone else is served')
})

t.test('http - a chunked body that never ends gets 408 request_timeout and the connection is closed', async (t) => {
  const server = await testServer(t, { ...planet, httpHeadersTimeoutMs: 400, httpRequestTimeoutMs: 800 })
  const answer = await rawExchange(server.port, (socket) => {
    socket.write('POST /api/click HTTP/1.1\r\nHost: partyline\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"dat\r\n')
    trickle(socket, '1\r\n \r\n', 50, 400)
    socket.on('error', () => {})
  })
  t.equal(answer.status, 408)
  t.match(rawJson(answer), { code: 'request_timeout' })
  t.equal(server.clickplanet!.stats.clicksAccepted, 0)
  t.equal((await httpGet(server, '/healthz')).status, 200, 'everyone else is served')
})

/**
 * POSTs `body` to the click route as a simple client does (curl, a script): the whole body
 * first, declared by Content-Length or chunked, and only then reads the answer.
 */
async function sendAllThenRead(port: number, body: Buffer, chunked: boolean): Promise<string> {
  const answer = await rawExchange(port, async (socket) => {
    socket.pause()
    socket.on('error', () => {})
    const head = 'POST /api/click HTTP/1.1\r\nHost: partyline\r\nContent-Type: application/json\r\n' +
      (chunked ? 'Transfer-Encoding: chunked\r\n\r\n' : `Content-Length: ${body.length}\r\n\r\n`)
    const parts: (string | Buffer)[] = [head]
    if (chunked) {
      for (let at = 0; at < body.length; at += 1024 * 1024) {
        const piece = body.subarray(at, at + 1024 * 1024)
        parts.push(`${piece.length.toString(16)}\r\n`, piece, '\r\n')
      }
      parts.push('0\r\n\r\n')
    } else {
      parts.push(body)
    }
    await new Promise<void>((resolve) => {
      for (const p of parts.slice(0, -1)) socket.write(p)
      socket.write(parts.at(-1)!, () => resolve())
    })
    socket.resume()
  })
  if (answer.status === undefined) return answer.reset ? 'reset before any answer' : 'closed without an answer'
  return `${answer.status} ${(rawJson(answer) as { code?: string } | undefined)?.code}`
}

t.test('http - a 10 MB body is drained and answered 413 body_too_large, and the client reads it every time', async (t) => {
  const server = await testServer(t, planet)
  const body = Buffer.alloc(10 * MB, 0x20)
  const tally = new Map<string, number>()
  for (let i = 0; i < 30; i++) {
    const key = await sendAllThenRead(server.port, body, i % 2 === 1)
    tally.set(key, (tally.get(key) ?? 0) + 1)
  }
  t.same(Object.fromEntries(tally), { '413 body_too_large': 30 }, '30 of 30 read their 413 (declared and chunked)')
  t.equal(server.clickplanet!.stats.clicksAccepted, 0)
  t.equal((await httpGet(server, '/api/leaderboard')).status, 200, 'the server keeps serving')
})

t.test('http - a body over the discard bound is answered 413 at once, without reading it', async (t) => {
  const server = await testServer(t, { ...planet, httpDiscardBytes: 1024 * 1024 })
  const answer = await rawExchange(server.port, (socket) => {
    socket.on('error', () => {})
    socket.write(`POST /api/click HTTP/1.1\r\nHost: partyline\r\nContent-Type: application/json\r\nContent-Length: ${20 * MB}\r\n\r\n{"data":`)
  })
  t.equal(answer.status, 413)
  t.match(rawJson(answer), { code: 'body_too_large' })
})

t.test('http - Expect: 100-continue: a body declared too large is refused before it is sent; a small one is let in', async (t) => {
  const server = await testServer(t, planet)
  const refused = await rawExchange(server.port, (socket) => {
    socket.write(`POST /api/click HTTP/1.1\r\nHost: partyline\r\nContent-Type: application/json\r\nContent-Length: ${10 * MB}\r\nExpect: 100-continue\r\n\r\n`)
  })
  t.equal(refused.status, 413, 'no 100 Continue: 413 at once')
  t.match(rawJson(refused), { code: 'body_too_large' })

  const body = JSON.stringify({ data: Array.from(encodeClickRequest({ tileId: 3, countryId: 'fr' })) })
  let text = ''
  const accepted = await rawExchange(server.port, async (socket) => {
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')))
    socket.write(`POST /api/click HTTP/1.1\r\nHost: partyline\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`)
    await until(() => text.startsWith('HTTP/1.1 100 Continue\r\n\r\n'), '100 Continue')
    socket.write(body)
  })
  t.match(accepted.text, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /)
  t.equal(server.clickplanet!.stats.clicksAccepted, 1)
})

t.test('http - headers over 16 KiB get 431 headers_too_large; garbage gets 400 malformed_request', async (t) => {
  const server = await testServer(t)
  const big = await rawExchange(server.port, (socket) => {
    socket.on('error', () => {})
    socket.write(`GET /healthz HTTP/1.1\r\nHost: partyline\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`)
  })
  t.equal(big.status, 431)
  t.match(rawJson(big), { code: 'headers_too_large' })
  const garbage = await rawExchange(server.port, (socket) => {
    socket.write('HELLO THERE\r\n\r\n')
  })
  t.equal(garbage.status, 400)
  t.match(rawJson(garbage), { code: 'malformed_request' })
  t.equal((await httpGet(server, '/healthz')).status, 200)
})
