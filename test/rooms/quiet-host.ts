import type { Host } from '../../src/rooms/host.js'

/** A host that takes every call and does nothing: for room and registry tests that drive rooms directly. */
export const quietHost = (): Host => ({
  attached() {},
  state() {},
  playerJoined() {},
  playerLeft() {},
  fromPlayer() {},
  error() {},
  stopped() {},
  restarting() {},
  replaced() {},
})
