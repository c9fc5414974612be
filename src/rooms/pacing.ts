/**
 * When a room's O(players) work is worth doing.
 *
 * Two things a room produces grow with its size: the host's `state` (every player, in
 * `players` and `roster`) and the room's record in the Store. Rebuilding either on every join
 * or leave makes a room's joins cost O(players²): 11,600 joins once sent a host 404 MB of
 * `state`, and their leaves stalled the server for 30 s. So changes are counted, and at the
 * end of the turn in which they happened (or before the host hears anything else) a rebuild
 * is done only if it is cheap for what changed:
 *
 * - a room of at most `EVERY_TURN_UP_TO` players rebuilds after every turn with a change
 *   (every room at the default `PARTYLINE_MAX_PLAYERS` of 100 does);
 * - a bigger room rebuilds once at least one change per `PLAYERS_PER_CHANGE` players has
 *   piled up, so a rebuild of n players is paid for by n / PLAYERS_PER_CHANGE changes and a
 *   join costs O(1) amortized, however big the room;
 * - and no change waits longer than `MAX_DELAY_MS` to be shown (a trickle of joins into a big
 *   room), which bounds that path by time: one rebuild per room per `MAX_DELAY_MS` at most.
 *
 * A flood of joins into a room of 2,500 thus sends its host a few hundred bytes of `state`
 * per join instead of tens of kilobytes (test/rooms/room-scale.test.ts).
 */
export const EVERY_TURN_UP_TO = 128
export const PLAYERS_PER_CHANGE = 16
export const MAX_DELAY_MS = 500

/** Whether rebuilding for `players` players is worth it after `changes` unshown changes. */
export function worthRebuilding(changes: number, players: number): boolean {
  return players <= EVERY_TURN_UP_TO || changes * PLAYERS_PER_CHANGE >= players
}
