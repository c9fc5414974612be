/**
 * The SDK's room functions, with every client they make closed after each test: a client
 * reconnects by itself, so one left open would retry the stopped test server forever.
 */
import type { Test } from 'tap'
import * as sdk from '../../clients/js/index.js'

export function trackedSdk(t: Pick<Test, 'afterEach'>) {
  const live = new Set<{ close(): void }>()
  t.afterEach(() => {
    for (const c of live) c.close()
    live.clear()
  })
  const keep = <C extends { close(): void }>(c: C): C => (live.add(c), c)
  return {
    openRoom: ((...a: Parameters<typeof sdk.openRoom>) => keep(sdk.openRoom(...(a as [string, sdk.CreateRoomOptions])))) as typeof sdk.openRoom,
    createRoom: (async (...a: [string, sdk.CreateRoomOptions]) => {
      const host = keep(sdk.openRoom(...a))
      await host.ready
      return host
    }) as typeof sdk.createRoom,
    reopenRoom: (...a: Parameters<typeof sdk.reopenRoom>) => keep(sdk.reopenRoom(...a)),
    resumeRoom: async (...a: Parameters<typeof sdk.reopenRoom>) => {
      const host = keep(sdk.reopenRoom(...a))
      await host.ready
      return host
    },
    joinRoom: (async (...a: [string, string, sdk.JoinOptions?]) => keep(await sdk.joinRoom(...a))) as typeof sdk.joinRoom,
    clickPlanet: sdk.clickPlanet,
    listen: (planet: sdk.ClickPlanet, ...a: Parameters<sdk.ClickPlanet['listen']>) => keep(planet.listen(...a)),
  }
}
