/**
 * The registry of codes and the settings table are documented: each code and setting in
 * src/ has its row in the README, and each row names a code that exists.
 */
import t from 'tap'
import { readFileSync } from 'node:fs'
import { CloseCode, ErrorCode, HttpErrorCode, closeReason, errorMeaning, httpErrors } from '../src/errors.js'
import { settings } from '../src/config.js'

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

/** The README's text under the heading `title`, up to the next heading. */
function section(title: string): string {
  const start = readme.search(new RegExp(`^#+ ${title.replace(/[()]/g, '\\$&')}$`, 'm'))
  if (start === -1) throw new Error(`README has no section "${title}"`)
  const rest = readme.slice(start)
  const body = rest.indexOf('\n') + 1
  const next = rest.slice(body).search(/^#/m)
  return next === -1 ? rest : rest.slice(0, body + next)
}

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
  const table = section('Error codes (`error` messages)')
  for (const code of Object.values(ErrorCode)) {
    t.match(code, /^[a-z_]+$/)
    t.ok(errorMeaning[code], `${code} has a meaning`)
    t.match(table, new RegExp(`^\\| \`${code}\` \\|`, 'm'), `README documents ${code}`)
  }
})

t.test('errors - the README table of HTTP error codes is the registry: code, status and meaning, no row more or less', async (t) => {
  const table = section('HTTP error codes')
  const rows = [...table.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \| (.*) \|$/gm)].map((m) => [m[1], Number(m[2]), m[3]])
  const registry = Object.values(HttpErrorCode).map((code) => [code, httpErrors[code].status, httpErrors[code].meaning])
  for (const [name, code] of Object.entries(HttpErrorCode)) {
    t.match(code, /^[a-z_]+$/)
    t.equal(name.replace(/[A-Z]/g, (c, i: number) => (i === 0 ? '' : '_') + c.toLowerCase()), code, `${name} is ${code}`)
  }
  t.same(rows, registry, 'README rows, in the registry\'s order')
})

t.test('errors - every setting has a README row with its flag and default', async (t) => {
  for (const s of Object.values(settings)) {
    const flag = '--' + s.env.replace(/^PARTYLINE_/, '').toLowerCase().replaceAll('_', '-')
    const def = s.default === '' ? '(empty)' : `\`${s.default}\``
    t.ok(readme.includes(`| \`${s.env}\` | \`${flag}\` | ${def} |`), `README row for ${s.env}`)
  }
})
