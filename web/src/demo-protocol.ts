/**
 * What the demo's TV and phones say to each other, on top of partyline: JSON in text
 * frames (the race's joystick is two bytes in a binary frame). partyline carries these
 * without reading them; a game is free to choose its own messages.
 */

/** TV → phone: what the phone shows now. A phone asks for it with `hello` after every (re)connect. */
export type ToPhone =
  /** Between rounds. `canStart`: this phone may start the next round (the first player does). */
  | { readonly t: 'lobby'; readonly round: number; readonly canStart: boolean; readonly score: number }
  /** A question: four choices; `answered` is the choice the TV already has from this phone, if any. */
  | { readonly t: 'question'; readonly round: number; readonly choices: readonly string[]; readonly answered: number | null }
  /** The TV has this phone's answer (sent once per answer, and in `question.answered`). */
  | { readonly t: 'ack'; readonly round: number; readonly choice: number }
  /** How this phone did in the round. */
  | { readonly t: 'result'; readonly round: number; readonly correct: boolean; readonly points: number; readonly score: number; readonly rank: number; readonly answer: string; readonly canStart: boolean }
  /** The race: the phone becomes a joystick (binary frames of two int8: dx, dy in −100…100). */
  | { readonly t: 'race'; readonly color: string }
  /** Round-trip probe: the phone answers `pong` with the same `n` at once. */
  | { readonly t: 'ping'; readonly n: number }

/** Phone → TV. */
export type ToTv =
  | { readonly t: 'hello' }
  | { readonly t: 'start' }
  | { readonly t: 'answer'; readonly round: number; readonly choice: number }
  | { readonly t: 'pong'; readonly n: number }

/** Parse a frame as one of the messages, or `undefined` for anything else (ignored, never thrown). */
export function parseMessage<T extends { t: string }>(data: Uint8Array | string): T | undefined {
  if (typeof data !== 'string') return undefined
  try {
    const m = JSON.parse(data) as unknown
    return typeof m === 'object' && m !== null && typeof (m as { t?: unknown }).t === 'string' ? (m as T) : undefined
  } catch {
    return undefined
  }
}
