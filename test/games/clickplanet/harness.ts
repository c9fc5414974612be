/**
 * ClickPlanet tests run inside the real partyline server (port 0): its HTTP routes, its
 * WebSocket gateway (`/ws/listen`) and its PLANET preset room.
 */
import type { Server } from 'node:http'
import { fileURLToPath } from 'node:url'
import { defaultSettings } from '../../../src/config.js'
import type { ClickPlanet, ClickPlanetOptions } from '../../../src/games/clickplanet/index.js'
import { startServer } from '../../../src/server.js'

export const SMALL_MAP = fileURLToPath(new URL('../../../assets/map-small.bin', import.meta.url))

export interface Harness {
  readonly planet: ClickPlanet
  /** http://127.0.0.1:<port> */
  readonly base: string
  /** ws://127.0.0.1:<port> */
  readonly wsBase: string
  readonly port: number
  close(): Promise<void>
}

/**
 * ClickPlanet options, and three server settings: `maxBuffered` (the send-buffer bound,
 * listeners too), `port` (default 0: any free port; a test restarting a server reuses its)
 * and `playerFramesPerSecond` (a test flooding room PLANET raises it).
 */
export async function startHarness(options: Partial<Omit<ClickPlanetOptions, 'logger'>> & { maxBuffered?: number; port?: number; playerFramesPerSecond?: number } = {}): Promise<Harness> {
  const { mapPath, clickRate, clickBurst, dataDir, maxBuffered, port, playerFramesPerSecond, ...rest } = options
  const settings = defaultSettings({
    port: port ?? 0,
    host: '127.0.0.1',
    logLevel: 'silent',
    map: mapPath ?? SMALL_MAP,
    clickRate: clickRate ?? 0,
    clickBurst: clickBurst ?? 10,
    dataDir: dataDir ?? '',
    ...(maxBuffered === undefined ? {} : { maxBuffered }),
    ...(playerFramesPerSecond === undefined ? {} : { playerFramesPerSecond }),
  })
  const server = await startServer(settings, { clickplanet: rest })
  const planet = server.clickplanet
  if (!planet) throw new Error('ClickPlanet is not enabled')
  return {
    planet,
    port: server.port,
    base: `http://127.0.0.1:${server.port}`,
    wsBase: `ws://127.0.0.1:${server.port}`,
    close: () => server.close(),
  }
}

export type { Server }
