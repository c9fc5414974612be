/**
 * ClickPlanet in a real browser: the globe is drawn, a click on a tile claims it on the
 * server and moves the page's leaderboard, a click made elsewhere shows up on the page
 * over the live stream, and a click past the rate limit is answered politely.
 */
import t from 'tap'
import { clickPlanet } from '../../clients/js/index.js'
import { SMALL_MAP } from '../games/clickplanet/harness.js'
import { builtWeb, eventually, launchChromium, openPage, screenshot } from '../helpers/browser.js'
import { testServer } from '../helpers/server.js'

interface PlanetHook {
  tiles: number
  pointOf(tile: number): { x: number; y: number } | null
  ownerOf(tile: number): string
}

t.test('planet - a click on the globe claims the tile on the server and on the leaderboard; a click elsewhere shows up live', async (t) => {
  const web = await builtWeb(t)
  const server = await testServer(t, { clickplanet: true, map: SMALL_MAP, clickRate: 0 }, { web })
  const browser = await launchChromium(t)
  const { page, problems } = await openPage(browser, server.url, { width: 1280, height: 800 })
  await page.goto(`${server.url}/planet`)
  await eventually(async () => (await page.locator('#live').textContent()) === 'live', 'the live stream', 30_000)
  await eventually(async () => page.evaluate(() => 'partylinePlanet' in window), 'the globe', 30_000)
  const country = await page.locator('#country').inputValue()
  t.match(country, /^[a-z]{2}$/, `a country is picked by default (${country})`)

  // A tile near the middle of the globe, where tiles are drawn largest.
  const target = await page.evaluate(() => {
    const p = (window as unknown as { partylinePlanet: PlanetHook }).partylinePlanet
    const box = document.querySelector('#globe')!.getBoundingClientRect()
    const cx = box.left + box.width / 2
    const cy = box.top + box.height / 2
    let best: { tile: number; x: number; y: number; d: number } | undefined
    for (let tile = 0; tile < p.tiles; tile++) {
      const q = p.pointOf(tile)
      if (!q) continue
      const d = Math.hypot(q.x - cx, q.y - cy)
      if (!best || d < best.d) best = { tile, x: q.x, y: q.y, d }
    }
    return best
  })
  t.ok(target, 'a tile faces the viewer')
  await page.mouse.click(target!.x, target!.y)
  const planet = clickPlanet(server.url)
  await eventually(async () => (await planet.ownerships()).some((o) => o.tileId === target!.tile && o.countryId === country), 'the server to record the claim', 20_000)
  const name = await page.evaluate((cc) => new Intl.DisplayNames(['en'], { type: 'region' }).of(cc.toUpperCase()) ?? cc, country)
  const board = page.locator('[data-testid="leaderboard"]')
  await eventually(async () => ((await board.textContent()) ?? '').includes(name), `${name} on the leaderboard`, 20_000)
  t.match(await page.locator('#planet-status').textContent(), new RegExp(`Claimed tile #${target!.tile} for ${name}`))

  // Someone else claims another tile (over HTTP, elsewhere): the page hears it live.
  const other = target!.tile === 0 ? 1 : 0
  await planet.click(other, 'jp')
  await eventually(async () => (await page.evaluate((tile) => (window as unknown as { partylinePlanet: PlanetHook }).partylinePlanet.ownerOf(tile), other)) === 'jp', 'the update on the page', 20_000)
  await eventually(async () => ((await board.textContent()) ?? '').includes('Japan'), 'Japan on the leaderboard, by name', 20_000)
  await screenshot(page, 'globe')
  t.same(problems, [], 'no script error, no request elsewhere')
})

t.test('planet - a click past the rate limit is answered politely, with when to try again', async (t) => {
  const web = await builtWeb(t)
  const server = await testServer(t, { clickplanet: true, map: SMALL_MAP, clickRate: 1, clickBurst: 1 }, { web })
  const browser = await launchChromium(t)
  const { page, problems } = await openPage(browser, server.url, { width: 800, height: 900 })
  await page.goto(`${server.url}/planet`)
  await eventually(async () => page.evaluate(() => 'partylinePlanet' in window), 'the globe', 30_000)
  // This test's address spends its one click of the second, then the page clicks.
  await clickPlanet(server.url).click(3, 'fr')
  const box = (await page.locator('#globe').boundingBox())!
  const point = await page.evaluate(() => {
    const p = (window as unknown as { partylinePlanet: PlanetHook }).partylinePlanet
    for (let tile = 0; tile < p.tiles; tile++) {
      const q = p.pointOf(tile)
      if (q) return q
    }
    return null
  })
  // The bucket refills a click a second: on a busy machine the page may click after that,
  // and be served. Then it clicks again (a tile claimed is no refusal) until one is refused.
  const refused = async (): Promise<boolean> => /Try again in \d+ s/.test((await page.locator('#planet-status').textContent()) ?? '')
  for (let i = 0; i < 20 && !(await refused()); i++) {
    await page.locator('#planet-status').evaluate((el) => { el.textContent = '' })
    await page.mouse.click(point?.x ?? box.x + box.width / 2, point?.y ?? box.y + box.height / 2)
    await eventually(async () => /Claimed|Try again/.test((await page.locator('#planet-status').textContent()) ?? ''), 'an answer to the click', 20_000)
  }
  t.ok(await refused(), 'the polite refusal')
  t.match(await page.locator('#planet-status').textContent(), /^Easy there!/)
  // Chromium itself logs every 4xx answer; the 429 is the one this test asked for.
  t.same(problems.filter((p) => !/status of 429/.test(p)), [], 'a refused click is not an error on the page')
})
