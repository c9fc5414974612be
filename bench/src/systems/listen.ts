import type { Server } from 'node:http'

/** The port a bench server should take: `PORT` from the runner. */
export function portFromEnv(): number {
  const port = Number(process.env.PORT)
  if (!Number.isInteger(port) || port <= 0) {
    process.stderr.write(`PORT must be set to a port number (got '${process.env.PORT ?? ''}')\n`)
    process.exit(2)
  }
  return port
}

/** Exits cleanly on SIGTERM/SIGINT so `--cpu-prof` profiles get written; bounded by 2 s. */
export function exitOnSignal(server: Server, beforeExit: () => void = () => {}): void {
  const stop = (): void => {
    beforeExit()
    server.close()
    server.closeAllConnections()
    setTimeout(() => process.exit(0), 2000).unref()
    server.once('close', () => process.exit(0))
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}
