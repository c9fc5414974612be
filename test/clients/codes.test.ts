/**
 * The client carries its own copy of the codes (it is taken alone, without the server):
 * both copies must agree, value for value.
 */
import t from 'tap'
import * as client from '../../clients/js/codes.js'
import * as server from '../../src/errors.js'

t.test('codes - the client and the server know the same close codes, reasons and error codes', async (t) => {
  t.strictSame(client.CloseCode, server.CloseCode, 'close codes')
  t.strictSame(client.closeReason, server.closeReason, 'close reasons')
  t.strictSame(client.ErrorCode, server.ErrorCode, 'error codes')
})

t.test('codes - the client codes are not server codes', async (t) => {
  const serverCodes = new Set<string>(Object.values(server.ErrorCode))
  for (const code of Object.values(client.ClientErrorCode)) t.notOk(serverCodes.has(code), `${code} is the client's own`)
})

t.test('codes - the client imports nothing of the server, so it can be taken alone', async (t) => {
  const { readdirSync, readFileSync } = await import('node:fs')
  const dir = new URL('../../clients/js/', import.meta.url)
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const imports = [...readFileSync(new URL(file, dir), 'utf8').matchAll(/^(?:import|export|\})[^\n]*from '([^']+)'/gm)].map((m) => m[1]!)
    t.same(imports.filter((i) => !i.startsWith('./') && i !== 'cbor-x' && i !== 'protobufjs/minimal.js'), [], `${file}: only its own modules and the bundled codecs`)
  }
})

t.test('docs - every function the SDK exports has TSDoc with an example', async (t) => {
  const { readdirSync, readFileSync } = await import('node:fs')
  const dir = new URL('../../clients/js/', import.meta.url)
  const sdk = await import('../../clients/js/index.js')
  const publicFunctions = new Set(Object.entries(sdk).filter(([, v]) => typeof v === 'function' && !/^class /.test(String(v))).map(([k]) => k))
  const documented = new Set<string>()
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(new URL(file, dir), 'utf8')
    // The doc comment right before each `export function` (overloads share the first one).
    for (const m of text.matchAll(/(\/\*\*(?:(?!\*\/)[\s\S])*\*\/)\s*export (?:async )?function (\w+)/g)) {
      if (m[1]!.includes('@example')) documented.add(m[2]!)
    }
  }
  t.ok(publicFunctions.size >= 10, `${publicFunctions.size} public functions`)
  for (const name of publicFunctions) t.ok(documented.has(name), `${name} has an @example`)
})
