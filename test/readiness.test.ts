import t from 'tap'
import { Readiness } from '../src/readiness.js'
import { httpGet, metricValue, scrape, testServer } from './helpers/server.js'

t.test('readiness - ready until a component fails, with its reason; ok again after', async (t) => {
  const r = new Readiness()
  const log = r.component('clickplanet_log')
  t.same(r.report(), { status: 'ready', clickplanet_log: 'ok' })
  log.failing('disk full')
  t.equal(r.ready, false)
  t.same(r.report(), { status: 'degraded', clickplanet_log: 'disk full' })
  log.ok()
  t.equal(r.ready, true)
  t.throws(() => r.component('clickplanet_log'), /exists already/)
  t.throws(() => r.component('status'))
})

t.test('readiness - /readyz answers 200 when ready, 503 naming what fails, 503 while stopping', async (t) => {
  const server = await testServer(t)
  const part = server.readiness.component('example')
  let res = await httpGet(server, '/readyz')
  t.equal(res.status, 200)
  t.same(res.body, { status: 'ready', example: 'ok' })
  t.equal(metricValue(await scrape(server), 'partyline_ready', { component: 'example' }), 1)

  part.failing('example is down')
  res = await httpGet(server, '/readyz')
  t.equal(res.status, 503)
  t.same(res.body, { status: 'degraded', example: 'example is down' })
  t.equal(metricValue(await scrape(server), 'partyline_ready', { component: 'example' }), 0)
  t.equal((await httpGet(server, '/healthz')).status, 200, 'alive though not ready')
})
