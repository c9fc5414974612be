import { parseArgs } from 'node:util'
import { isCountryCode } from './country-codes.js'

export interface RobotOptions {
  readonly targetCountry: string
  readonly wantedCountry: string
  readonly host: string
  readonly port: number
  readonly secure: boolean
  readonly recheckSeconds: number
  readonly maxInFlight: number
}

export const ROBOT_USAGE = `usage: partyline robot --target-country <cc> --wanted-country <cc>
  [--host localhost] [--port 443|80] [--unsecure] [--recheck-seconds 120] [--max-in-flight 4]
Keeps the territory of --target-country held by --wanted-country (ISO 3166-1 alpha-2 codes).
--unsecure uses http/ws instead of https/wss.`

/** A flag was wrong; the message names it. */
export class RobotUsageError extends Error {
  override readonly name = 'RobotUsageError'
}

/** Parses the reference robot's flags (plus two tuning flags). */
export function parseRobotArgs(argv: readonly string[]): RobotOptions {
  let values
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        'target-country': { type: 'string' },
        'wanted-country': { type: 'string' },
        host: { type: 'string', default: 'localhost' },
        port: { type: 'string' },
        unsecure: { type: 'boolean', default: false },
        'recheck-seconds': { type: 'string', default: '120' },
        'max-in-flight': { type: 'string', default: '4' },
      },
    }))
  } catch (err) {
    throw new RobotUsageError(err instanceof Error ? err.message : String(err))
  }
  const country = (flag: 'target-country' | 'wanted-country'): string => {
    const v = values[flag]
    if (v === undefined) throw new RobotUsageError(`--${flag} is required`)
    const cc = v.toLowerCase()
    if (!isCountryCode(cc)) throw new RobotUsageError(`--${flag} must be an ISO 3166-1 alpha-2 code, got ${JSON.stringify(v)}`)
    return cc
  }
  const int = (flag: string, raw: string | undefined, min: number, max: number): number => {
    const n = Number(raw)
    if (raw === undefined || !Number.isInteger(n) || n < min || n > max) {
      throw new RobotUsageError(`--${flag} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`)
    }
    return n
  }
  const secure = !values.unsecure
  const host = values.host
  if (host.length === 0 || /[/\s]/.test(host)) throw new RobotUsageError(`--host must be a host name, got ${JSON.stringify(host)}`)
  return {
    targetCountry: country('target-country'),
    wantedCountry: country('wanted-country'),
    host,
    port: values.port === undefined ? (secure ? 443 : 80) : int('port', values.port, 1, 65535),
    secure,
    recheckSeconds: int('recheck-seconds', values['recheck-seconds'], 1, 86_400),
    maxInFlight: int('max-in-flight', values['max-in-flight'], 1, 256),
  }
}
