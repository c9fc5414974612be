/**
 * The SDK as a new user gets it: `npm pack` of this repository installed into an empty
 * project resolves `import … from 'partyline'` to the SDK, at run time and for TypeScript
 * (types found: no TS7016), and the README's client example runs as plain ESM, as written.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { buildWeb } from '../../scripts/build-web.js'
import { testServer } from '../helpers/server.js'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../', import.meta.url))

t.test('package - npm pack, installed in an empty project: the SDK imports with its types', async (t) => {
  await buildWeb({ types: true }) // dist/sdk: what `exports` points at
  const dir = mkdtempSync(join(tmpdir(), 'partyline-pack-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: root, maxBuffer: 64 << 20 })
  const [{ filename }] = JSON.parse(stdout) as [{ filename: string }]
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'new-user', private: true, type: 'module' }))
  await run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--prefer-offline', join(dir, filename)], { cwd: dir, maxBuffer: 64 << 20 })
  writeFileSync(
    join(dir, 'game.ts'),
    `import { createRoom, joinRoom, clickPlanet, CloseCode, type HostClient, type PlayerClient } from 'partyline'
export async function play(server: string): Promise<[HostClient, PlayerClient]> {
  const host = await createRoom(server, { maxPlayers: 4 })
  host.on('player_joined', (id: number, name: string | undefined) => console.log(id, name))
  const phone = await joinRoom(server, host.code, { name: 'Ann' })
  phone.on('lost', (code: number) => console.log(code === CloseCode.Kicked))
  void clickPlanet(server).leaderboard()
  return [host, phone]
}
`,
  )
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', noEmit: true, skipLibCheck: false, types: [], lib: ['ES2022', 'DOM'] }, files: ['game.ts'] }))
  const tsc = join(root, 'node_modules/typescript/bin/tsc')
  const checked = await run(process.execPath, [tsc, '-p', dir]).then(
    () => '',
    (e: { stdout: string }) => e.stdout,
  )
  t.equal(checked, '', 'TypeScript finds the types (no TS7016) and the example type-checks')
  const { stdout: kinds } = await run(process.execPath, ['--input-type=module', '-e', "const m = await import('partyline'); console.log(typeof m.joinRoom, typeof m.createRoom, m.CloseCode.NoSuchRoom)"], { cwd: dir })
  t.equal(kinds.trim(), 'function function 4004', 'the package resolves to the SDK at run time')
})

t.test('package - the README\'s client example runs as plain ESM, as written', async (t) => {
  await buildWeb()
  const server = await testServer(t)
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const block = /<!-- example: sdk -->\s*```js\n([\s\S]*?)```/.exec(readme)?.[1]
  t.ok(block, 'the README has the example')
  // Run from the repository, as a user who followed the README would, against this test's server.
  const file = join(root, `.tap/readme-example-${process.pid}.mjs`)
  writeFileSync(file, block!.replaceAll('ws://localhost:8081', server.ws))
  t.teardown(() => rmSync(file, { force: true }))
  const { stdout } = await run(process.execPath, [file], { cwd: root, timeout: 20_000 })
  t.match(stdout, /Ann joined/, 'the host hears the player')
  t.match(stdout, /the game says: echo: hi/, 'the player hears the game')
})
