import { PartylineSystem } from '../../../src/flood/partyline-system.js'
import type { PartySystem } from '../../../src/flood/party-system.js'
import { ColyseusSystem } from './colyseus-system.js'
import { SocketIoSystem } from './socketio-system.js'
import { WsRelaySystem } from './ws-relay-system.js'

/** The systems under test, in the order runs interleave them; the first is the baseline. */
export const SYSTEM_NAMES = ['ws-relay', 'colyseus', 'socket.io', 'partyline'] as const
export type SystemName = (typeof SYSTEM_NAMES)[number]

export function isSystemName(name: string): name is SystemName {
  return (SYSTEM_NAMES as readonly string[]).includes(name)
}

/** The client side of a system, for the generator. */
export function clientFor(name: SystemName, url: string): PartySystem {
  switch (name) {
    case 'ws-relay':
      return new WsRelaySystem(url)
    case 'socket.io':
      return new SocketIoSystem(url)
    case 'colyseus':
      return new ColyseusSystem(url)
    case 'partyline':
      return new PartylineSystem(url)
  }
}
