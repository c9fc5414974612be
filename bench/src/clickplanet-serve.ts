/**
 * A partyline node for the ClickPlanet benches, from the build in the directory given
 * (default: this checkout), so two builds can be measured side by side in one run. Prints
 * its port; `NATS_URL`, `REDIS_URL` and `PARTYLINE_NODE_ID` from the environment.
 */
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = process.argv[2] ?? fileURLToPath(new URL('../..', import.meta.url))
const { startServer } = await import(join(root, 'src/server.ts')) as typeof import('../../src/server.js')
const { defaultSettings } = await import(join(root, 'src/config.ts')) as typeof import('../../src/config.js')
const { defaultMapPath } = await import(join(root, 'src/games/clickplanet/map.ts')) as typeof import('../../src/games/clickplanet/map.js')
const h = await startServer(defaultSettings({
  port: 0, host: '127.0.0.1', logLevel: 'silent', map: defaultMapPath(), dataDir: '',
  clickRate: 0, maxBuffered: 4 << 20, listenersPerAddress: 100_000,
  natsUrl: process.env['NATS_URL'] ?? '', redisUrl: process.env['REDIS_URL'] ?? '', nodeId: process.env['PARTYLINE_NODE_ID'] ?? '',
}))
process.stdout.write(`${h.port}\n`)
process.once('SIGTERM', () => { void h.close().then(() => process.exit(0)) })
