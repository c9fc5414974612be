import t from 'tap'
import { CODE_ALPHABET, isBlocked, normalizeCode, randomCode } from '../../src/rooms/room-code.js'

t.test('codes - four characters from an alphabet without look-alikes', async (t) => {
  for (const c of '01OIL') t.notOk(CODE_ALPHABET.includes(c), `no ${c}`)
  const seen = new Set<string>()
  const bad: string[] = []
  for (let i = 0; i < 5000; i++) {
    const code = randomCode()
    if (!/^[ABCDEFGHJKMNPQRSTUVWXYZ]{4}$/.test(code) || isBlocked(code)) bad.push(code)
    seen.add(code)
  }
  t.same(bad, [], 'every code well-formed and clean')
  t.ok(seen.size > 4900, 'drawn at random')
})

t.test('codes - rude words are blocked; joining is case-insensitive', async (t) => {
  t.ok(isBlocked('FUCK'))
  t.ok(isBlocked('CUNT'))
  t.notOk(isBlocked('KQZT'))
  t.equal(normalizeCode('kqzt'), 'KQZT')
})
