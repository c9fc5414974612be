/**
 * Browser tests drive Debian's Chromium (`/usr/bin/chromium`) through playwright-core,
 * headless and kept off the network. A missing Chromium fails the test with the command
 * that installs it: browser tests never skip silently.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core'
import { buildWeb } from '../../scripts/build-web.js'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-dev-shm-usage']

/** Where screenshots go: `SCREENSHOT_DIR`, or `.tap/screenshots` (kept as test artifacts). */
export const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR ?? fileURLToPath(new URL('../../.tap/screenshots/', import.meta.url))

type Teardown = { teardown(fn: () => unknown): void }

export async function launchChromium(t: Teardown): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`browser tests need Chromium at ${CHROMIUM}: install it with \`apt-get update && apt-get install -y chromium\` (or set CHROMIUM_PATH)`)
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS })
  t.teardown(() => browser.close())
  return browser
}

/** Build the pages and the SDK into a fresh directory (the server is pointed at it). */
export async function builtWeb(t: Teardown): Promise<{ webDir: string; sdkDir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'partyline-web-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return buildWeb({ webDir: join(dir, 'web'), sdkDir: join(dir, 'sdk') })
}

/**
 * A page in its own context (its own storage: a separate phone), which fails the test on
 * any request to another origin, any script error and any console error (a CSP violation
 * shows there).
 */
export async function openPage(browser: Browser, origin: string, viewport = { width: 390, height: 844 }): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport, hasTouch: viewport.width < 600, deviceScaleFactor: 1 })
  const page = await context.newPage()
  const problems: string[] = []
  const allowed = new URL(origin).host
  page.on('request', (req) => {
    const u = new URL(req.url())
    if (u.protocol !== 'data:' && u.protocol !== 'blob:' && u.host !== allowed) problems.push(`request to another origin: ${req.url()}`)
  })
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
  page.on('console', (msg: ConsoleMessage) => {
    // A dropped WebSocket logs an error in the console by design; those are what the tests cause.
    if (msg.type() === 'error' && !/WebSocket connection to .* failed|ERR_CONNECTION_(RESET|REFUSED)|net::ERR_/.test(msg.text())) problems.push(`console error: ${msg.text()}`)
  })
  return { context, page, problems }
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true })
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`) })
}

/** Resolves when `check()` holds (it may be async: a page's state); rejects after `ms` naming `what`. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}
