/**
 * ClickPlanet in a page: the globe drawn from `/api/map/tiles` (every tile, coloured by its
 * owner), kept live from `/ws/listen`; drag to turn it, pinch or scroll to zoom, tap a tile
 * to claim it for the country picked above; the leaderboard beside it, by country name.
 */
import { clickPlanet, PartylineError, type PlanetUpdate } from '/sdk/partyline.js'
import { Globe } from './globe.js'
import { colorOf, countryName, flagOf, rgbOf } from './countries.js'

const $ = <T extends HTMLElement = HTMLElement>(sel: string): T => document.querySelector<T>(sel)!
const status = (text: string): void => void ($('#planet-status').textContent = text)

const planet = clickPlanet()
const map = await planet.map()
const T = map.lat.length

/** Owner of each tile as an index into `owners` (0: nobody), and each country's tile count. */
const owner = new Uint8Array(T)
const owners: string[] = ['']
const ownerIndex = new Map<string, number>()
const scores = new Map<string, number>()

function indexOf(country: string): number {
  let i = ownerIndex.get(country)
  if (i === undefined) {
    i = owners.length
    owners.push(country)
    ownerIndex.set(country, i)
    globe.setColor(i, rgbOf(country))
  }
  return i
}

function setOwner(tile: number, country: string): void {
  if (tile < 0 || tile >= T) return
  const before = owners[owner[tile]!]!
  if (before === country) return
  if (before) scores.set(before, (scores.get(before) ?? 1) - 1)
  scores.set(country, (scores.get(country) ?? 0) + 1)
  owner[tile] = indexOf(country)
  globe.invalidate()
  boardDirty = true
}

const globe = new Globe($<HTMLCanvasElement>('#globe'), map, owner)

// The country picker: every country of the map, named in the browser's language, with the
// browser's own region chosen first.
const picker = $<HTMLSelectElement>('#country')
const countries = [...map.countries].sort((a, b) => countryName(a).localeCompare(countryName(b)))
for (const cc of countries) picker.append(new Option(`${flagOf(cc)} ${countryName(cc)}`, cc))
picker.value = localStorage.getItem('partyline.country') ?? localeCountry(countries) ?? countries[0]!
picker.addEventListener('change', () => {
  localStorage.setItem('partyline.country', picker.value)
  globe.lookAt(picker.value)
})
globe.lookAt(picker.value)

function localeCountry(known: readonly string[]): string | undefined {
  for (const lang of navigator.languages ?? [navigator.language]) {
    try {
      const region = new Intl.Locale(lang).maximize().region?.toLowerCase()
      if (region && known.includes(region)) return region
    } catch {
      // an odd language tag: try the next
    }
  }
  return undefined
}

// Live: listen first, then read every owner; updates that arrive meanwhile are applied
// after, in order, so nothing between the read and the stream is missed.
let pending: PlanetUpdate[] | undefined = []
const live = planet.listen((u) => (pending ? pending.push(u) : setOwner(u.tileId, u.countryId)))
const liveBadge = $('#live')
const setLive = (text: string, cls: string): void => {
  liveBadge.textContent = text
  liveBadge.className = `status ${cls}`
}
setLive('connecting…', 'reconnecting')
live.on('open', () => setLive('live', 'connected'))
live.on('reconnecting', () => setLive('reconnecting…', 'reconnecting'))
live.on('reconnected', () => void loadOwners()) // catch up on what changed while away
live.on('lost', (_c, reason) => setLive(`offline: ${reason}`, 'ended'))

async function loadOwners(): Promise<void> {
  pending ??= []
  const all = await planet.ownerships()
  owner.fill(0)
  scores.clear()
  for (const o of all) setOwner(o.tileId, o.countryId)
  for (const u of pending) setOwner(u.tileId, u.countryId)
  pending = undefined
  globe.invalidate()
  boardDirty = true
}
await loadOwners()
status('Drag to turn the globe, pinch or scroll to zoom, tap a tile to claim it.')

// The leaderboard: redrawn at most four times a second, however fast updates come.
let boardDirty = true
const board = $('[data-testid="leaderboard"]')
setInterval(() => {
  if (!boardDirty) return
  boardDirty = false
  const top = [...scores].filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 20)
  board.replaceChildren(
    ...top.map(([cc, n]) => {
      const li = document.createElement('li')
      li.dataset.country = cc
      li.innerHTML = `<span class="swatch"></span><span class="flag"></span><span class="name"></span><span class="score"></span>`
      li.querySelector<HTMLElement>('.swatch')!.style.background = colorOf(cc)
      li.querySelector('.flag')!.textContent = flagOf(cc)
      li.querySelector('.name')!.textContent = countryName(cc)
      li.querySelector('.score')!.textContent = n.toLocaleString()
      return li
    }),
  )
  if (top.length === 0) board.innerHTML = '<li class="muted">Nobody has claimed anything yet.</li>'
}, 250)

// A tap on the globe claims the tile under it.
globe.onTap(async (tile) => {
  if (tile === undefined) return status('That is the sea: tap on land.')
  const cc = picker.value
  try {
    await planet.click(tile, cc)
    status(`Claimed tile #${tile} for ${countryName(cc)}.`)
  } catch (e) {
    if (e instanceof PartylineError && e.code === 429) {
      const s = Math.max(1, Math.ceil((e.retryAfterMs ?? 1000) / 1000))
      status(`Easy there! The server takes only so many clicks a second from one address. Try again in ${s} s.`)
    } else {
      status(`That click did not count: ${e instanceof PartylineError ? e.reason : String(e)}`)
    }
  }
})
$('#zoom-in').addEventListener('click', () => globe.zoomBy(1.6))
$('#zoom-out').addEventListener('click', () => globe.zoomBy(1 / 1.6))

// For tests and the curious: where a tile is on screen, and who holds it.
;(window as unknown as { partylinePlanet: unknown }).partylinePlanet = {
  tiles: T,
  pointOf: (tile: number) => globe.pointOf(tile),
  ownerOf: (tile: number) => owners[owner[tile]!] ?? '',
  lookAt: (cc: string) => globe.lookAt(cc),
}
