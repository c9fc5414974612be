/**
 * The click rate limit is per client address, whatever the way in: more PLANET sockets from
 * one address buy no more clicks, and they share the bucket of that address's HTTP clicks.
 */
import t from 'tap'
import { encodeClickRequest } from '../../../src/games/clickplanet/messages.js'
import { PlayerPeer, until } from '../../helpers/server.js'
import { startHarness } from './harness.js'

t.test('planet rate limit - five PLANET sockets from one address share one bucket with its HTTP clicks', async (t) => {
  const rate = 1
  const burst = 3
  const h = await startHarness({ clickRate: rate, clickBurst: burst })
  t.teardown(() => h.close())
  const phones = Array.from({ length: 5 }, () => new PlayerPeer({ ws: h.wsBase }, 'PLANET'))
  await Promise.all(phones.map((p) => p.opened))
  const started = performance.now()
  let tile = 0
  for (const phone of phones) for (let i = 0; i < 3; i++) phone.send(encodeClickRequest({ tileId: tile++, countryId: 'fr' }))
  const c = h.planet.stats.planet
  await until(() => c.clicks + c.rateLimited === 15, 'every PLANET click decided')
  let httpAccepted = 0
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${h.base}/api/click`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ data: [...encodeClickRequest({ tileId: 100 + i, countryId: 'de' })] }),
    })
    if (res.status === 200) httpAccepted++
    else t.equal(res.status, 429)
  }
  // A token bucket lets through at most its burst plus what refilled meanwhile; one bucket
  // per socket would have let 15 PLANET clicks through.
  const allowed = burst + Math.floor(((performance.now() - started) / 1000) * rate) + 1
  t.ok(c.clicks + httpAccepted <= allowed, `${c.clicks} PLANET + ${httpAccepted} HTTP clicks accepted, at most ${allowed} allowed`)
  t.ok(c.rateLimited > 0, `PLANET clicks refused: ${c.rateLimited}`)
})
