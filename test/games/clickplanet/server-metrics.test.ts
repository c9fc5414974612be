/** The server's /metrics carries ClickPlanet's figures next to its own. */
import t from 'tap'
import { metricValue, scrape } from '../../helpers/server.js'
import { startHarness } from './harness.js'
import { click } from './helpers.js'

t.test('server metrics - /metrics shows ClickPlanet clicks and log position as they happen', async (t) => {
  const h = await startHarness()
  t.teardown(() => h.close())
  const server = { url: h.base }
  const before = await scrape(server)
  t.equal(metricValue(before, 'partyline_clickplanet_clicks_total', { outcome: 'accepted' }), 0)
  await click(h.base, 3, 'fr')
  await click(h.base, 4, 'de')
  const after = await scrape(server)
  t.equal(metricValue(after, 'partyline_clickplanet_clicks_total', { outcome: 'accepted' }), 2)
  t.equal(metricValue(after, 'partyline_clickplanet_log_position'), h.planet.stats.logPosition)
  t.ok(h.planet.stats.logPosition >= 2)
  t.match(after, /^# TYPE partyline_connections gauge$/m, 'the server metrics are still there')
})
