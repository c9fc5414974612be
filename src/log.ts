import { pino, type Logger } from 'pino'

/**
 * Structured logs (JSON lines on stdout). Contract: no payload, token or sid is ever passed
 * to the logger; the redact list is a second line of defence, not the first.
 */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'partyline' },
    redact: { paths: ['token', 'sid', 'data', '*.token', '*.sid', '*.data'], censor: '[redacted]' },
  })
}
