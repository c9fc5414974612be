/**
 * The registry of codes and the settings table are documented: each code and setting in
 * src/ has its row in the README, and each row names a code that exists.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { CloseCode, ErrorCode, closeReason, errorMeaning } from '../src/errors.js'
import { settings } from '../src/config.js'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

t.test('errors - every close code has a reason and a README row; no README row is stale', async (t) => {
  for (const [name, code] of Object.entries(CloseCode)) {
    t.ok(closeReason[code], `${code} has a reason`)
    t.match(readme, new RegExp(`^\\| ${code} \\| ${name} \\|`, 'm'), `README documents ${code} ${name}`)
  }
  const rows = [...readme.matchAll(/^\| (\d{4}) \| (\w+) \|/gm)].map((m) => Number(m[1]))
  const known = new Set<number>(Object.values(CloseCode))
  t.same(rows.filter((c) => !known.has(c)), [], 'README rows name real codes')
})

t.test('errors - every error code equals its key style and has a README row', async (t) => {
  for (const code of Object.values(ErrorCode)) {
    t.match(code, /^[a-z_]+$/)
    t.ok(errorMeaning[code], `${code} has a meaning`)
    t.match(readme, new RegExp(`^\\| \`${code}\` \\|`, 'm'), `README documents ${code}`)
  }
})

t.test('errors - every setting has a README row with its flag and default', async (t) => {
  for (const s of Object.values(settings)) {
    const flag = '--' + s.env.replace(/^PARTYLINE_/, '').toLowerCase().replaceAll('_', '-')
    const def = s.default === '' ? '(empty)' : `\`${s.default}\``
    t.ok(readme.includes(`| \`${s.env}\` | \`${flag}\` | ${def} |`), `README row for ${s.env}`)
  }
})
