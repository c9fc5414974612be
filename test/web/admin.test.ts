/**
 * The admin view in a real browser: the token asked for (Enter submits), the room listed
 * with its players by name, kick and stop as buttons that do what they say (the phone is
 * told it was kicked; the room ends), and a wrong token refused (401).
 */
import t from 'tap'
import { builtWeb, eventually, launchChromium, openPage, screenshot } from '../helpers/browser.js'
import { testServer } from '../helpers/server.js'

const TOKEN = 'browser-admin-token-0123456789'

t.test('admin - the page lists the room; kick and stop work; a wrong token is refused', async (t) => {
  const web = await builtWeb(t)
  const server = await testServer(t, { adminToken: TOKEN }, { web })
  const browser = await launchChromium(t)

  // A TV and two phones, as people would have them.
  const tv = await openPage(browser, server.url, { width: 1280, height: 720 })
  await tv.page.goto(`${server.url}/demo`)
  const codeEl = tv.page.locator('[data-testid="room-code"]')
  await eventually(async () => /^[A-Z]{4}$/.test((await codeEl.textContent()) ?? ''), 'the room code', 15_000)
  const code = (await codeEl.textContent())!
  const phones: Awaited<ReturnType<typeof openPage>>[] = []
  for (const name of ['Ann', 'Bob']) {
    const phone = await openPage(browser, server.url)
    await phone.page.goto(`${server.url}/${code}?name=${name}`)
    await eventually(async () => (await phone.page.locator('[data-testid="connection"]').textContent()) === 'connected', `${name} connected`, 15_000)
    phones.push(phone)
  }

  const admin = await openPage(browser, server.url, { width: 1280, height: 800 })
  await admin.page.goto(`${server.url}/admin`)
  // A wrong token: the API answers 401 and the page asks again.
  await admin.page.locator('[data-testid="admin-token"]').fill('not-the-token-at-all-0000')
  await admin.page.locator('[data-testid="admin-token"]').press('Enter')
  await eventually(async () => ((await admin.page.locator('#token-error').textContent()) ?? '').includes('refused'), 'the refusal', 10_000)
  t.ok(await admin.page.locator('[data-testid="admin-token"]').isVisible(), 'the token is asked for again')

  await admin.page.locator('[data-testid="admin-token"]').fill(TOKEN)
  await admin.page.locator('[data-testid="admin-token"]').press('Enter')
  const room = admin.page.locator(`[data-testid="admin-rooms"] [data-room="${code}"]`)
  await eventually(async () => (await room.locator('tr[data-player]').count()) === 2, 'the room and its two players', 10_000)
  t.match(await room.textContent(), /Quick maths/, 'the room by name')
  t.same(await room.locator('tr[data-player] td:nth-child(2)').allTextContents(), ['Ann', 'Bob'], 'the players by name')
  t.match(await admin.page.locator('#scope').textContent(), /This node only/)
  await screenshot(admin.page, 'admin')

  // Kick Bob: his phone says so, the TV drops him, the list follows.
  await room.getByRole('button', { name: `Kick Bob from ${code}` }).click()
  await eventually(async () => (await phones[1]!.page.locator('[data-testid="connection"]').textContent()) === 'kicked by the host', 'Bob told he was kicked', 10_000)
  await eventually(async () => (await tv.page.locator('[data-testid="player-list"] > *').count()) === 1, 'the TV without Bob', 10_000)
  await eventually(async () => (await room.locator('tr[data-player]').count()) === 1, 'the admin list without Bob', 10_000)

  // Stop the room: Ann's phone says the room has ended, and the room leaves the list.
  await room.getByRole('button', { name: `Stop ${code}` }).click()
  await eventually(async () => (await phones[0]!.page.locator('[data-testid="connection"]').textContent()) === 'the room has ended', 'Ann told the room ended', 10_000)
  await eventually(async () => (await room.count()) === 0, 'the room gone from the list', 10_000)

  // The API itself, without the token: 401.
  const res = await fetch(`${server.url}/api/admin/rooms`)
  t.equal(res.status, 401)
  for (const p of [admin, ...phones]) t.same(p.problems.filter((x) => !/status of 401/.test(x)), [], 'no script error, no request elsewhere')
})
