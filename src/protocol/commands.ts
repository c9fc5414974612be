/**
 * Host commands, validated at the edge: a decoded frame (CBOR or JSON) becomes a typed
 * HostCommand or a specific refusal. Nothing behind this file sees an unchecked value.
 */
import { z } from 'zod'
import { ErrorCode } from '../errors.js'
import type { HostCommand } from './messages.js'

/** How a codec carries bytes: CBOR has byte strings, JSON has base64 text. */
export type BytesForm = 'cbor' | 'json'

export type CommandResult = { ok: true; command: HostCommand } | { ok: false; code: ErrorCode; reason: string }

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/** Every original WMBP host sends `data` as an array of ints 0–255; accept it everywhere. */
function intArrayToBytes(v: unknown[], ctx: z.RefinementCtx): Uint8Array {
  const out = Buffer.allocUnsafe(v.length)
  for (let i = 0; i < v.length; i++) {
    const b = v[i]
    if (typeof b !== 'number' || !Number.isInteger(b) || b < 0 || b > 255) {
      ctx.addIssue({ code: 'custom', message: `must be bytes: element ${i} is not an integer from 0 to 255` })
      return z.NEVER
    }
    out[i] = b
  }
  return out
}

const bytesSchema = (form: BytesForm) =>
  z.unknown().transform((v, ctx): Uint8Array => {
    if (form === 'cbor' && v instanceof Uint8Array) return v
    if (Array.isArray(v)) return intArrayToBytes(v, ctx)
    if (form === 'json' && typeof v === 'string') {
      if (BASE64.test(v)) return Buffer.from(v, 'base64')
      ctx.addIssue({ code: 'custom', message: 'must be standard base64 (RFC 4648 §4)' })
      return z.NEVER
    }
    const what = typeof v === 'string' ? 'text' : v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v
    ctx.addIssue({
      code: 'custom',
      message: `must be bytes (${form === 'cbor' ? 'a byte string' : 'a base64 string'} or an array of ints 0-255), got ${what}; use to_str for text`,
    })
    return z.NEVER
  })

const text = z.string({ message: 'must be text' })
const playerId = z.number({ message: 'must be a player id' }).int({ message: 'must be a player id' }).positive({ message: 'must be a player id' })
const targets = z.array(playerId, { message: 'must be an array of player ids' }).optional()

function schemas(form: BytesForm, maxPlayers: number) {
  return {
    prepare: z.object({
      cmd: z.literal('prepare'),
      max_players: z
        .number({ message: `must be an integer from 1 to ${maxPlayers}` })
        .int({ message: `must be an integer from 1 to ${maxPlayers}` })
        .min(1, { message: `must be an integer from 1 to ${maxPlayers}` })
        .max(maxPlayers, { message: `must be an integer from 1 to ${maxPlayers}` }),
      name: text.max(200, { message: 'must be at most 200 characters' }).optional(),
      public: z.boolean({ message: 'must be true or false' }).optional(),
    }),
    resume: z.object({ cmd: z.literal('resume'), key: text.max(16, { message: 'must be a room code' }), token: text.max(128, { message: 'must be a token' }) }),
    start: z.object({ cmd: z.literal('start') }),
    kick: z.object({ cmd: z.literal('kick'), player: playerId }),
    stop: z.object({ cmd: z.literal('stop') }),
    to: z.object({ cmd: z.literal('to'), to: targets, data: bytesSchema(form) }),
    to_str: z.object({
      cmd: z.literal('to_str'),
      to: targets,
      data: z.string({ message: 'must be text (use to for bytes)' }),
    }),
  } as const
}

export type CommandParser = (value: unknown) => CommandResult

/**
 * A parser for one codec's form of bytes and the server's `max_players` bound.
 *
 * A `to` list may name at most `maxPlayers` ids (the most players any room can hold): it is
 * refused by its length, before a single id is checked, so a list of 300,000 ids costs no
 * more than a short one. Ids listed twice are the room's to drop (each player gets a frame
 * once).
 */
export function commandParser(form: BytesForm, maxPlayers: number): CommandParser {
  const byCmd: Record<string, z.ZodType<HostCommand>> = schemas(form, maxPlayers)
  return (value) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
      return { ok: false, code: ErrorCode.MalformedFrame, reason: 'a message must be a map with a text key "cmd"' }
    }
    const cmd = (value as { cmd?: unknown }).cmd
    if (typeof cmd !== 'string') return { ok: false, code: ErrorCode.UnknownCommand, reason: 'missing "cmd"' }
    const schema = Object.hasOwn(byCmd, cmd) ? byCmd[cmd] : undefined
    if (!schema) return { ok: false, code: ErrorCode.UnknownCommand, reason: `unknown cmd ${JSON.stringify(cmd.slice(0, 40))}` }
    const to = (value as { to?: unknown }).to
    if ((cmd === 'to' || cmd === 'to_str') && Array.isArray(to) && to.length > maxPlayers) {
      return { ok: false, code: ErrorCode.InvalidField, reason: `${cmd}: to lists ${to.length} ids; a room holds at most ${maxPlayers} players` }
    }
    const parsed = schema.safeParse(value)
    if (parsed.success) return { ok: true, command: parsed.data }
    const issue = parsed.error.issues[0]
    const field = issue?.path.join('.') || 'message'
    const why = valueAt(value, issue?.path ?? []) === undefined ? 'is required' : (issue?.message ?? 'is invalid')
    return { ok: false, code: ErrorCode.InvalidField, reason: `${cmd}: ${field} ${why}` }
  }
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root
  for (const k of path) {
    if (typeof v !== 'object' || v === null) return undefined
    v = (v as Record<PropertyKey, unknown>)[k]
  }
  return v
}
