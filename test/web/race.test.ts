/**
 * The real-time demo in a real browser, a phone coming in through the front door: its
 * joystick moves its dot on the TV, which
 * redraws from the inputs it receives. The TV's frame rate is printed, not asserted (a
 * test never asserts a duration).
 */
import t from 'tap'
import { builtWeb, eventually, launchChromium, openPage } from '../helpers/browser.js'
import { testServer } from '../helpers/server.js'

interface Race {
  dots: Map<number, { x: number; y: number; dx: number; dy: number }>
}

t.test('race - a phone is a joystick: dragging it moves its dot on the TV', async (t) => {
  const web = await builtWeb(t)
  const server = await testServer(t, {}, { web })
  const browser = await launchChromium(t)
  const tv = await openPage(browser, server.url, { width: 1280, height: 720 })
  await tv.page.goto(`${server.url}/demo/race`)
  const codeEl = tv.page.locator('[data-testid="room-code"]')
  await eventually(async () => /^[A-Z]{4}$/.test((await codeEl.textContent()) ?? ''), 'the room code', 15_000)
  const code = (await codeEl.textContent())!

  // The phone comes in through the front door: a wrong code is answered there, the right one opens the room.
  const phone = await openPage(browser, server.url)
  await phone.page.goto(`${server.url}/`)
  await phone.page.locator('[data-testid="join-code"]').fill('zzzz')
  await phone.page.locator('[data-testid="join-name"]').fill('Racer')
  await phone.page.locator('[data-testid="join-submit"]').tap()
  await eventually(async () => ((await phone.page.locator('#join-error').textContent()) ?? '').includes('No room ZZZZ'), 'the front door to refuse a wrong code', 10_000)
  await phone.page.locator('[data-testid="join-code"]').fill(code.toLowerCase())
  await phone.page.locator('[data-testid="join-submit"]').tap()
  await eventually(async () => new URL(phone.page.url()).pathname === `/${code}`, 'the room\'s phone page', 10_000)
  const stick = phone.page.locator('#joystick')
  await eventually(async () => stick.isVisible(), 'the joystick on the phone', 15_000)
  await eventually(async () => (await tv.page.locator('[data-testid="player-list"] > *').count()) === 1, 'the racer on the TV', 10_000)
  const before = await tv.page.evaluate(() => [...(window as unknown as { partylineRace: Race }).partylineRace.dots.values()][0]!.x)

  // Hold the stick to the right.
  const box = (await stick.boundingBox())!
  await phone.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2)
  await phone.page.mouse.down()
  await phone.page.mouse.move(box.x + box.width * 0.95, box.y + box.height / 2, { steps: 4 })
  await eventually(async () => (await tv.page.evaluate(() => [...(window as unknown as { partylineRace: Race }).partylineRace.dots.values()][0]!.dx)) > 0.5, 'the TV to get the stick', 10_000)
  await eventually(async () => (await tv.page.evaluate(() => [...(window as unknown as { partylineRace: Race }).partylineRace.dots.values()][0]!.x)) > before + 0.05, 'the dot to move right', 10_000)
  await phone.page.mouse.up()
  await eventually(async () => (await tv.page.evaluate(() => [...(window as unknown as { partylineRace: Race }).partylineRace.dots.values()][0]!.dx)) === 0, 'the stick released', 10_000)
  await eventually(async () => /\d+ fps/.test((await tv.page.locator('#fps').textContent()) ?? ''), 'a frame rate on the TV', 10_000)
  t.comment(`TV frame rate in headless Chromium here: ${await tv.page.locator('#fps').textContent()}`)
  // Chromium logs the front door's 404 lookup of the wrong code itself.
  t.same([...tv.problems, ...phone.problems].filter((p) => !/status of 404/.test(p)), [], 'no script error, no request elsewhere')
})
