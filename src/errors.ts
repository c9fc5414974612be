/**
 * The one registry of protocol error codes and WebSocket close codes.
 *
 * Server and clients (clients/js) import these constants; the README's tables are checked
 * against them by test/errors.test.ts, so a code added here without documentation fails CI.
 * States are `as const` objects rather than enums so they erase to plain values.
 */

/** WebSocket close codes (RFC 6455 range and our 4000–4999 range). */
export const CloseCode = {
  /** The room ended normally (host `stop` answered, host socket closed). */
  Normal: 1000,
  /**
   * A text frame that is not valid UTF-8 (RFC 6455 §8.1 requires failing the connection). A
   * host is sent `error` malformed_frame first; a player, which has no protocol, only the close.
   */
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

/** The short reason sent with each close code (at most 123 bytes, per RFC 6455). */
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

/**
 * Codes carried by the protocol `error` message (`{cmd: "error", reason, code}`).
 * The original WMBP host reads only `reason`; `code` is a stable string for programs.
 */
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

/** What each error code means, for the README table and for logs. */
export const errorMeaning: Readonly<Record<ErrorCode, string>> = {
  malformed_frame: 'the frame is not one well-formed CBOR (or JSON) map, or it was hostile',
  unknown_command: '`cmd` is missing or names no command',
  invalid_field: 'a field is missing, of the wrong type or out of range',
  not_prepared: 'a room command before `prepare` (or `resume`)',
  already_prepared: 'a second `prepare` or `resume` on a connection that has a room',
  unknown_player: '`kick` of an id that is not in the room',
  no_such_room: '`resume` of a room that does not exist (or has ended)',
  bad_token: '`resume` with a wrong token (three close the connection with 1008)',
  rate_limited: 'too many rooms created from this address, or on this server; retry later',
  wrong_frame_type: 'a text frame to a CBOR host session, or binary to a JSON one',
  unavailable: 'the server could not do it now (no free room code, store unavailable)',
  too_complex: 'the frame holds more maps and arrays, or more map entries, than the server decodes (`PARTYLINE_CBOR_MAX_CONTAINERS`, `PARTYLINE_CBOR_MAX_MAP_ENTRIES`)',
  preset_room: 'an operator action that a preset room (ClickPlanet\'s `PLANET`) does not take: start or stop',
}

/**
 * Codes of HTTP refusals. Every JSON error answer is `{"error": reason, "code": code}` with
 * the status below; `error` is the human reason (what existing clients read), `code` the
 * stable string for programs.
 */
export const HttpErrorCode = {
  MalformedRequest: 'malformed_request',
  InvalidBody: 'invalid_body',
  InvalidClick: 'invalid_click',
  InvalidCountry: 'invalid_country',
  NoRoute: 'no_route',
  NoSuchRoom: 'no_such_room',
  NoTerritory: 'no_territory',
  MethodNotAllowed: 'method_not_allowed',
  RequestTimeout: 'request_timeout',
  BodyTooLarge: 'body_too_large',
  TooManyLookups: 'too_many_lookups',
  RateLimited: 'rate_limited',
  TooManyLargeResponses: 'too_many_large_responses',
  TooManyConnections: 'too_many_connections',
  HeadersTooLarge: 'headers_too_large',
  InternalError: 'internal_error',
  ServerBusy: 'server_busy',
  Unavailable: 'unavailable',
  ShuttingDown: 'shutting_down',
  Unauthorized: 'unauthorized',
  NoSuchPlayer: 'no_such_player',
  InvalidAction: 'invalid_action',
  PresetRoom: 'preset_room',
} as const
export type HttpErrorCode = (typeof HttpErrorCode)[keyof typeof HttpErrorCode]

export interface HttpErrorSpec {
  readonly status: 400 | 401 | 404 | 405 | 408 | 409 | 413 | 429 | 431 | 500 | 503
  /** What it means, for the README table and for logs. */
  readonly meaning: string
}

/** Status and meaning of each HTTP error code. */
export const httpErrors: Readonly<Record<HttpErrorCode, HttpErrorSpec>> = {
  malformed_request: { status: 400, meaning: 'the request line, a header or the request target cannot be parsed; the connection is closed' },
  invalid_body: { status: 400, meaning: 'a ClickPlanet body that is not `{"data": …}` holding the expected message (not JSON, no `data`, neither bytes nor base64, not the message)' },
  invalid_click: { status: 400, meaning: 'a click on a tile out of range or for a country that is not a lower-case ISO 3166-1 alpha-2 code' },
  invalid_country: { status: 400, meaning: '`/api/map/countries/<cc>` with a code that is not two lower-case letters' },
  no_route: { status: 404, meaning: 'no route for this path' },
  no_such_room: { status: 404, meaning: '`/api/rooms/<code>` of a code with no room (counts toward the lookup throttle)' },
  no_territory: { status: 404, meaning: '`/api/map/countries/<cc>` of a code with no tile on the map' },
  method_not_allowed: { status: 405, meaning: 'the route exists, not for this method (`Allow` lists those it takes)' },
  request_timeout: { status: 408, meaning: 'the headers or the body did not arrive within `PARTYLINE_HTTP_HEADERS_TIMEOUT_MS` / `PARTYLINE_HTTP_REQUEST_TIMEOUT_MS`; the connection is closed' },
  body_too_large: { status: 413, meaning: 'a body over the route\'s limit (64 KiB); the connection is closed' },
  too_many_lookups: { status: 429, meaning: 'too many unknown room codes from this address (`Retry-After`)' },
  rate_limited: { status: 429, meaning: 'ClickPlanet clicks past the per-address rate (`Retry-After`)' },
  too_many_large_responses: { status: 429, meaning: 'this address already has `PARTYLINE_HTTP_LARGE_RESPONSES_PER_ADDRESS` large answers in flight (`Retry-After`)' },
  too_many_connections: { status: 429, meaning: 'this address already holds `PARTYLINE_HTTP_CONNECTIONS_PER_ADDRESS` plain HTTP connections: answered at accept, before anything is read, and closed' },
  headers_too_large: { status: 431, meaning: 'request headers over 16 KiB; the connection is closed' },
  internal_error: { status: 500, meaning: 'a bug on the server (logged)' },
  server_busy: { status: 503, meaning: 'large answers in flight already hold `PARTYLINE_HTTP_RESPONSE_MEMORY` bytes or number `PARTYLINE_HTTP_LARGE_RESPONSES` (`Retry-After`)' },
  unavailable: { status: 503, meaning: 'ClickPlanet cannot take clicks now (the log failed, the projection stopped, the server is stopping), or a clustered lobby cannot read the room directory (Redis unreachable)' },
  unauthorized: { status: 401, meaning: '`/api/admin/*` without `Authorization: Bearer <PARTYLINE_ADMIN_TOKEN>`, or with another token' },
  no_such_player: { status: 404, meaning: 'an admin `kick` of a player id that is not in the room' },
  invalid_action: { status: 400, meaning: 'an admin action whose body is not a JSON object, or a `kick` without a positive integer `player`' },
  preset_room: { status: 409, meaning: 'an admin `start` or `stop` of a preset room (ClickPlanet\'s `PLANET`), which lives as long as the server' },
  shutting_down: { status: 503, meaning: 'the server is stopping: only `/healthz`, `/readyz` and `/metrics` still answer (`Retry-After`; the connection is closed)' },
}
