/**
 * The demo party game in real browsers: a TV page and three phone pages (each its own
 * browser context, as separate phones) play a whole round; one phone loses its connection
 * for a few seconds (its TCP connection cut by a proxy) and comes back as the same player
 * without the TV ever showing it leave; the TV reloads and takes its room back with the
 * players still there; the QR code, read from a screenshot, is the phone page's URL.
 */
import t from 'tap'
import jsQRModule from 'jsqr'
import { PNG } from 'pngjs'
import type { Page } from 'playwright-core'
import { builtWeb, eventually as until, launchChromium, openPage, screenshot } from '../helpers/browser.js'
import { testServer } from '../helpers/server.js'
import { TcpProxy } from '../helpers/tcp-proxy.js'

const TV = { width: 1280, height: 720 }
// jsqr is CommonJS with `exports.default`: under Node's ESM the default import is the exports object.
const jsQR = jsQRModule.default

/** The answer to the TV's question ("7 × 8 = ?"), computed as a player would. */
async function rightAnswer(tv: Page): Promise<string> {
  const text = (await tv.locator('#question').textContent()) ?? ''
  const m = /(\d+) ([×+]) (\d+)/.exec(text)
  if (!m) throw new Error(`no question on the TV: ${text}`)
  return String(m[2] === '×' ? Number(m[1]) * Number(m[3]) : Number(m[1]) + Number(m[3]))
}

/** The TV's player list: id → text of each child, in order. */
async function playerList(tv: Page): Promise<[number, string][]> {
  return tv.locator('[data-testid="player-list"] > *').evaluateAll((els) => els.map((e) => [Number((e as HTMLElement).dataset.playerId), e.textContent ?? ''] as [number, string]))
}

t.test('demo - a TV and three phones play a round; a phone blips and comes back; the TV reloads and keeps its room', async (t) => {
  const web = await builtWeb(t)
  const server = await testServer(t, {}, { web })
  const proxy = await TcpProxy.start(server.port)
  t.teardown(() => proxy.close())
  const browser = await launchChromium(t)

  // The TV.
  const tv = await openPage(browser, server.url, TV)
  await tv.page.goto(`${server.url}/demo`)
  const codeEl = tv.page.locator('[data-testid="room-code"]')
  await until(async () => /^[A-Z]{4}$/.test((await codeEl.textContent()) ?? ''), 'the room code on the TV', 15_000)
  const code = (await codeEl.textContent())!
  t.match(code, /^[A-Z]{4}$/, 'the code is four letters and nothing else')

  // The QR code, decoded from a screenshot of it.
  const png = PNG.sync.read(await tv.page.locator('[data-testid="qr"]').screenshot())
  const qr = jsQR(new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length), png.width, png.height)
  t.equal(qr?.data, `${server.url}/${code}`, 'the QR code is the phone page\'s absolute URL')

  // Three phones: two straight to the server, one through the proxy (the one that will blip).
  const names = ['Ann', 'Bob', 'Cleo']
  const phones = []
  for (const [i, name] of names.entries()) {
    const origin = i === 2 ? proxy.url : server.url
    const phone = await openPage(browser, origin)
    await phone.page.goto(`${origin}/${code.toLowerCase()}`)
    t.equal(await phone.page.locator('[data-testid="join-code"]').inputValue(), code, 'the phone page knows its room')
    await phone.page.locator('[data-testid="join-name"]').fill(name)
    await phone.page.locator('[data-testid="join-submit"]').tap()
    await until(async () => (await phone.page.locator('[data-testid="connection"]').textContent()) === 'connected', `${name} to be connected`, 15_000)
    phones.push(phone)
  }
  await until(async () => (await playerList(tv.page)).length === 3, 'three players on the TV', 10_000)
  const list = await playerList(tv.page)
  t.same(list.map(([, text]) => text.replace(/\d+$/, '')), names, 'one child per player, with the names')
  const ids = list.map(([id]) => id)

  // A whole round: Ann answers right, the others wrong.
  await tv.page.locator('#start-round').click()
  const answer = await rightAnswer(tv.page)
  for (const [i, phone] of phones.entries()) {
    const pad = phone.page.locator('#pad button')
    await until(async () => (await pad.first().isVisible()) && (await pad.first().isEnabled()), 'the answer buttons', 10_000)
    const labels = await pad.allTextContents()
    const pick = i === 0 ? labels.indexOf(answer) : labels.findIndex((l) => l !== answer)
    if (i === 0) await screenshot(phone.page, 'phone')
    await pad.nth(pick).tap()
  }
  await until(async () => tv.page.locator('#results').isVisible(), 'the results on the TV', 10_000)
  await screenshot(tv.page, 'tv')
  for (const [i, phone] of phones.entries()) {
    const title = phone.page.locator('#result-title')
    await until(async () => ((await title.textContent()) ?? '') !== '', `${names[i]}'s result`, 10_000)
    t.match(await title.textContent(), i === 0 ? /^Right! \+\d+$/ : `The answer was ${answer}`, `${names[i]} sees how they did`)
  }
  const scores = await tv.page.locator('[data-testid="player-list"] > * .score').allTextContents()
  t.ok(Number(scores[0]) > 500 && scores[1] === '0' && scores[2] === '0', `scores on the TV: ${scores.join(', ')}`)

  // Cleo's Wi-Fi blips: every connection through the proxy is cut, new ones refused.
  await tv.page.evaluate(() => {
    const w = window as unknown as { removed: string[] }
    w.removed = []
    new MutationObserver((records) => {
      for (const r of records) for (const n of r.removedNodes) w.removed.push((n as HTMLElement).dataset?.playerId ?? '?')
    }).observe(document.querySelector('[data-testid="player-list"]')!, { childList: true })
  })
  const cleo = phones[2]!.page
  const acceptedBefore = proxy.accepted
  proxy.down()
  await until(async () => (await cleo.locator('[data-testid="connection"]').textContent()) === 'reconnecting…', 'Cleo\'s page to say it is reconnecting', 10_000)
  const cleoOnTv = tv.page.locator(`[data-testid="player-list"] > [data-player-id="${ids[2]}"]`)
  await until(async () => (await cleoOnTv.getAttribute('class')) === 'away', 'the TV to show Cleo away (player_away)', 10_000)
  t.match(await cleoOnTv.textContent(), /^Cleo \(away\)/, 'away, still in the list')
  await until(() => proxy.accepted >= acceptedBefore + 2, 'two refused reconnection attempts', 15_000)
  proxy.restore()
  await until(async () => (await cleo.locator('[data-testid="connection"]').textContent()) === 'connected', 'Cleo back', 15_000)
  await until(async () => (await cleoOnTv.getAttribute('class')) === '', 'the TV to show Cleo back (player_back)', 10_000)
  t.same(await tv.page.evaluate(() => (window as unknown as { removed: string[] }).removed), [], 'the TV never showed Cleo leave')
  t.same((await playerList(tv.page)).map(([id]) => id), ids, 'the same players, the same ids')

  // Round two: Cleo's answer counts under her id (she is the same player).
  await tv.page.locator('#start-round').click()
  const answer2 = await rightAnswer(tv.page)
  for (const phone of phones) {
    const pad = phone.page.locator('#pad button')
    await until(async () => (await pad.first().isVisible()) && (await pad.first().isEnabled()), 'the answer buttons', 10_000)
    const labels = await pad.allTextContents()
    await pad.nth(labels.indexOf(answer2)).tap()
  }
  await until(async () => tv.page.locator('#results').isVisible(), 'round two\'s results', 10_000)
  const row = tv.page.locator(`#results [data-result-player="${ids[2]}"] td`)
  t.match(await row.nth(1).textContent(), /^\+\d+$/, 'Cleo scored under her own id')

  // The TV reloads: same room, same players.
  await tv.page.reload()
  await until(async () => (await codeEl.textContent()) === code, 'the same code after the reload', 15_000)
  await until(async () => (await playerList(tv.page)).length === 3, 'the players after the reload', 10_000)
  t.same((await playerList(tv.page)).map(([id, text]) => [id, text.replace(/\d+$/, '')]), ids.map((id, i) => [id, names[i]]), 'the same players with their names')
  t.ok(Number((await tv.page.locator('[data-testid="player-list"] > * .score').first().textContent()) ?? 0) > 0, 'the scores too')

  for (const p of [tv, ...phones]) t.same(p.problems, [], 'no script error, no request elsewhere')
})
