/**
 * What the ClickPlanet benches do to a server or a stream, written once: a click over HTTP
 * (the reference client's JSON body), and a stream filled with clicks straight from NATS.
 */
import { request, type Agent } from 'node:http'
import { headers, type JetStreamManager, type NatsConnection } from 'nats'
import { encodeClick, encodeClickRequest, type Click } from '../../src/games/clickplanet/messages.js'

/** POST /api/click for `tile` (fr on odd tiles, de on even ones); resolves with the status. */
export function postClick(agent: Agent, port: number, tile: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ data: Array.from(encodeClickRequest({ tileId: tile, countryId: tile % 2 ? 'fr' : 'de' })) })
    const req = request({ host: '127.0.0.1', port, path: '/api/click', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', reject)
    req.end(body)
  })
}

/**
 * Publishes `n` clicks to `<subjects>.tile.<id>` (core publishes with `Nats-Msg-Id`, flushed
 * every 20,000), waits up to 60 s until the stream holds them all, and returns them in order.
 */
export async function fillStream(nc: NatsConnection, jsm: JetStreamManager, stream: string, subjects: string, n: number, tileCount: number): Promise<Click[]> {
  const list: Click[] = []
  const ts = BigInt(Date.now()) * 1_000_000n
  for (let i = 0; i < n; i++) {
    const c: Click = { tileId: (i * 7919) % tileCount, countryId: i % 3 ? 'fr' : 'br', timestampNs: ts + BigInt(i), clickId: `cu-${i}` }
    list.push(c)
    const h = headers()
    h.set('Nats-Msg-Id', c.clickId)
    nc.publish(`${subjects}.tile.${c.tileId}`, encodeClick(c), { headers: h })
    if (i % 20_000 === 19_999) await nc.flush()
  }
  await nc.flush()
  const deadline = performance.now() + 60_000
  let stored = 0
  while ((stored = (await jsm.streams.info(stream)).state.last_seq) < n) {
    if (performance.now() > deadline) throw new Error(`only ${stored} of ${n} clicks reached the stream within 60 s`)
    await new Promise((r) => setTimeout(r, 50))
  }
  return list
}
