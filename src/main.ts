#!/usr/bin/env node
/**
 * The `partyline` command.
 *   partyline [serve] [--port 8081 …]   run the server (the default)
 *   partyline dev-cluster --nodes 3     NATS, Redis and N nodes on this machine
 *   partyline --help                    list every setting
 * Exit codes: 0 clean stop, 1 crash, 2 bad setting or usage, 3 stored data that an
 * operator must decide about (the one line on stderr says what, where and the ways out).
 */
import { setFlagsFromString } from 'node:v8'
import { networkInterfaces } from 'node:os'
import { ConfigError, loadSettings, settingsHelp, unknownVariables } from './config.js'
import { createLogger } from './log.js'
import { startServer } from './server.js'
import { raiseDescriptorLimit } from './transport/descriptor-limit.js'
import { runRobot } from './games/clickplanet/robot.js'
import { ROBOT_USAGE } from './games/clickplanet/robot-options.js'
import { LogUnusableError } from './games/clickplanet/event-log.js'
import { runFlood } from './flood/cli.js'
import { runDevCluster } from './dev-cluster/cli.js'

const USAGE = `usage: partyline [serve] [options]     run the server (the default)
       partyline robot --target-country ru --wanted-country fr --host localhost --port 3000 --unsecure
                                          ClickPlanet country safeguard robot
       partyline flood --url ws://127.0.0.1:8081 --rooms 10 --players 8 …
                                          load a partyline server like a party game and measure it
       partyline dev-cluster --nodes 3 [-- serve options]
                                          nats-server, redis-server and 3 nodes on this machine (--help)

Server options (each is also an environment variable):
${settingsHelp()}
`

const wantsHelp = (argv: readonly string[]): boolean => argv.includes('--help') || argv.includes('-h')

async function serve(argv: readonly string[]): Promise<number> {
  if (wantsHelp(argv)) {
    process.stdout.write(USAGE)
    return 0
  }
  for (const { name, suggestion } of unknownVariables(process.env)) {
    process.stderr.write(`partyline: warning: ${name} is not a setting and is ignored${suggestion ? ` (did you mean ${suggestion}?)` : ''}\n`)
  }
  let settings
  try {
    settings = loadSettings(process.env, argv)
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(err.message + '\n')
      return 2
    }
    throw err
  }
  // V8 pretenures an allocation site once most of its objects have survived a GC. Loading
  // ClickPlanet's map makes thousands of long-lived objects at start, and sites it marks are
  // shared with the frame path: from then on short-lived frame objects went straight to the
  // old generation, which grew by ~0.6 MB/s under the party benchmark and was collected with
  // 10-20 ms mark-compact steps (seen with --trace-gc; the max latency showed them). Without
  // pretenuring the old generation stays flat. Set before the server allocates anything.
  setFlagsFromString('--no-allocation-site-pretenuring')
  const logger = createLogger(settings.logLevel)
  // Every socket takes a descriptor; the connection caps are set below this limit (ws-gateway.ts).
  const fds = raiseDescriptorLimit()
  if (fds.error !== undefined) logger.warn({ limit: fds.now, was: fds.before }, `descriptor limit not raised: ${fds.error}`)
  else if (fds.now === undefined) logger.warn('descriptor limit unknown on this platform')
  else logger.info({ soft: fds.now.soft, hard: fds.now.hard, raisedFrom: fds.before?.soft !== fds.now.soft ? fds.before?.soft : undefined }, 'descriptor limit')
  let server
  try {
    server = await startServer(settings, { logger })
  } catch (err) {
    if (err instanceof LogUnusableError) {
      process.stderr.write(`partyline: cannot start: ${err.message}\n`)
      return 3
    }
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err
    process.stderr.write(`partyline: port ${settings.port} is already in use: set PORT (or --port) to a free port\n`)
    // The games opened before the port was tried; nothing was served: leave at once.
    process.exit(2)
  }
  logger.info({ demo: pageUrls(settings.host, server.port, '/demo') }, 'open the demo on a TV; phones scan its QR code')
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      logger.info({ signal }, 'stopping')
      // A second signal, or a stop that hangs, ends the process regardless.
      const force = setTimeout(() => process.exit(1), settings.shutdownMs + 1000)
      force.unref()
      server.close().then(resolve, resolve)
    }
    process.once('SIGTERM', () => stop('SIGTERM'))
    process.once('SIGINT', () => stop('SIGINT'))
  })
  return 0
}

/** The page's URL on each address phones on the LAN can reach (all of them when bound to every address). */
function pageUrls(host: string, port: number, path: string): string[] {
  const everywhere = host === '0.0.0.0' || host === '::'
  const addresses = everywhere
    ? Object.values(networkInterfaces())
        .flat()
        .filter((a) => a !== undefined && a.family === 'IPv4' && !a.internal)
        .map((a) => a!.address)
    : [host]
  return [...addresses, ...(everywhere ? ['localhost'] : [])].map((a) => `http://${a.includes(':') ? `[${a}]` : a}:${port}${path}`)
}

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv
  if (first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(USAGE)
    return 0
  }
  if (first === undefined || first.startsWith('-')) return serve(argv)
  switch (first) {
    case 'serve':
      return serve(rest)
    case 'robot': {
      if (wantsHelp(rest)) {
        process.stdout.write(`${ROBOT_USAGE}\n`)
        return 0
      }
      const stop = new AbortController()
      process.once('SIGINT', () => stop.abort())
      process.once('SIGTERM', () => stop.abort())
      return runRobot(rest, stop.signal)
    }
    case 'flood':
      return runFlood(rest)
    case 'dev-cluster':
      return runDevCluster(rest)
    default:
      process.stderr.write(`partyline: unknown command ${JSON.stringify(first)}\n${USAGE}`)
      return 2
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    process.stderr.write(`partyline: ${(err as Error).stack ?? String(err)}\n`)
    process.exitCode = 1
  },
)
