import { silentHost } from '../../src/rooms/host.js'

/** A host that takes every call and does nothing: for room and registry tests that drive rooms directly. */
export const quietHost = silentHost
