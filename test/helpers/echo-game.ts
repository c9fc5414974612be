/**
 * A test preset game: an in-process host for the room `ECHOES` that sends every player frame
 * back to its sender and, for the text frame `all`, to every player. It records what its
 * room told it, so tests can check the Host side of a preset room.
 */
import type { Host, PresetGame, RoomControl, RoomStateView } from '../../src/rooms/host.js'

export class EchoGame implements PresetGame {
  readonly code = 'ECHOES'
  readonly name = 'Echo'
  readonly public = true
  readonly maxPlayers: number
  readonly joined: number[] = []
  readonly left: number[] = []
  readonly states: RoomStateView[] = []
  control: RoomControl | undefined

  constructor(maxPlayers = 4) {
    this.maxPlayers = maxPlayers
  }

  host(control: RoomControl): Host {
    this.control = control
    return {
      attached: () => {},
      state: (s) => void this.states.push(s),
      playerJoined: (p) => void this.joined.push(p),
      playerLeft: (p) => void this.left.push(p),
      // Sending from inside the room's handler queues behind it: the mailbox at work.
      fromPlayer: (p, data) => control.send(data, data === 'all' ? undefined : [p]),
      error: () => {},
      stopped: () => {},
      restarting: () => {},
      replaced: () => {},
    }
  }
}
