/**
 * The close codes and protocol error codes of partyline, as the client sees them.
 *
 * A copy of the server's registry (`src/errors.ts`) so that the client stands alone: it is
 * bundled into `/sdk/partyline.js` and shipped as the package's export without the server.
 * `test/clients/codes.test.ts` checks that both copies agree, value for value.
 */

/** WebSocket close codes: RFC 6455's and partyline's own (4000–4999). */
export const CloseCode = {
  /** The room ended normally (host `stop` answered, host socket closed). */
  Normal: 1000,
  /** A text frame that is not valid UTF-8 (RFC 6455 §8.1 requires failing the connection). */
  InvalidPayload: 1007,
  /** Refused by policy: origin not allowed, bad resume token three times, malformed sid or name. */
  PolicyViolation: 1008,
  /** A frame over the role's size limit. */
  MessageTooBig: 1009,
  /** The server is restarting; reconnect at once. */
  ServiceRestart: 1012,
  /** This connection could not keep up: its send buffer passed the limit. */
  TryAgainLater: 1013,
  Kicked: 4001,
  RoomStopped: 4002,
  RoomStarted: 4003,
  NoSuchRoom: 4004,
  RoomFull: 4009,
  HostGone: 4010,
  Replaced: 4011,
  TooManyAttempts: 4029,
} as const
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode]

/** The short reason the server sends with each close code. */
export const closeReason: Readonly<Record<CloseCode, string>> = {
  1000: 'room ended',
  1007: 'invalid UTF-8 in a text frame',
  1008: 'refused by policy',
  1009: 'frame too large',
  1012: 'server restarting',
  1013: 'connection too slow',
  4001: 'kicked by the host',
  4002: 'the host stopped the room',
  4003: 'the room no longer accepts players',
  4004: 'no such room',
  4009: 'the room is full',
  4010: 'the host left and did not come back',
  4011: 'replaced by a newer connection',
  4029: 'too many attempts; retry later',
}

/** Codes of the protocol `error` message (`{cmd: "error", reason, code}`). */
export const ErrorCode = {
  MalformedFrame: 'malformed_frame',
  UnknownCommand: 'unknown_command',
  InvalidField: 'invalid_field',
  NotPrepared: 'not_prepared',
  AlreadyPrepared: 'already_prepared',
  UnknownPlayer: 'unknown_player',
  NoSuchRoom: 'no_such_room',
  BadToken: 'bad_token',
  RateLimited: 'rate_limited',
  WrongFrameType: 'wrong_frame_type',
  Unavailable: 'unavailable',
  TooComplex: 'too_complex',
  PresetRoom: 'preset_room',
} as const
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode]

/**
 * Codes of errors the client itself detects, beside the server's `ErrorCode`s.
 * - `MalformedMessage`: a frame from the server that is not a CBOR (or JSON) map with a text
 *   `cmd`, or whose fields have the wrong types. The frame is skipped; the connection stays open.
 * - `NotConnected`: a send after the client closed or was lost for good: nothing was sent.
 * - `QueueFull`: a send while reconnecting, past what the client keeps for after the
 *   reconnect (`ReconnectOptions.maxQueued`): nothing was sent.
 * - `Unreachable`: the server could not be reached at all (no WebSocket opened, HTTP failed).
 */
export const ClientErrorCode = {
  MalformedMessage: 'malformed_message',
  NotConnected: 'not_connected',
  QueueFull: 'queue_full',
  Unreachable: 'unreachable',
} as const
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode]

/**
 * A refusal or a failure: a protocol `error` from the server (`code` is an `ErrorCode`, or
 * `"error"` from a server that sends no code), a close (`code` is the close code), an HTTP
 * status (ClickPlanet), or a `ClientErrorCode`. `reason` is the text for people (also the
 * `message`); `retryAfterMs` is set when the server said when to try again (HTTP 429).
 */
export class PartylineError extends Error {
  constructor(
    readonly code: string | number,
    readonly reason: string,
    readonly retryAfterMs?: number,
  ) {
    super(reason)
    this.name = 'PartylineError'
  }
}
