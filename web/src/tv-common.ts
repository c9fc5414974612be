/**
 * What both TV pages (the quiz and the race) show around their game: the room code in big
 * letters, the QR code that phones scan, the list of players with their names, and what
 * the TV's own connection is doing.
 */
import QRCode from 'qrcode'
import type { HostClient, RoomState } from '/sdk/partyline.js'

/** The phone page's absolute URL for `code`, on the origin this TV page was served from. */
export function phoneUrl(code: string): string {
  return `${location.origin}/${code}`
}

/** Draw the room code and its QR code into the elements the page has for them. */
export async function showRoom(code: string): Promise<void> {
  const url = phoneUrl(code)
  document.querySelector('[data-testid="room-code"]')!.textContent = code
  const link = document.querySelector<HTMLAnchorElement>('#join-url')
  if (link) {
    link.href = url
    link.textContent = url.replace(/^https?:\/\//, '')
  }
  const canvas = document.querySelector<HTMLCanvasElement>('[data-testid="qr"]')!
  await QRCode.toCanvas(canvas, url, { errorCorrectionLevel: 'M', margin: 2, scale: 8, color: { dark: '#000000', light: '#ffffff' } })
  canvas.removeAttribute('style') // the encoder sizes the canvas inline; the sheet sizes it
  canvas.setAttribute('aria-label', `QR code of ${url}`)
  // Phones cannot open "localhost": say which address to use instead.
  const hint = document.querySelector('#lan-hint')
  if (hint) hint.classList.toggle('hidden', !/^(localhost|127\.|\[::1\])/.test(location.hostname))
}

/** A player's name as shown: the one it joined with, or "Player <id>". */
export function nameOf(state: RoomState | undefined, id: number): string {
  return state?.roster.find((p) => p.id === id)?.name ?? `Player ${id}`
}

/**
 * Render the player list: exactly one `<li data-player-id>` per player in the room, in
 * join order, kept (not re-created) across renders so a player who is away for a moment
 * never leaves the list. `extra(id)` is what else the game shows for a player (a score).
 */
export function renderPlayers(state: RoomState, extra: (id: number) => string = () => ''): void {
  const list = document.querySelector<HTMLElement>('[data-testid="player-list"]')!
  const existing = new Map<number, HTMLElement>()
  for (const li of list.querySelectorAll<HTMLElement>(':scope > li[data-player-id]')) existing.set(Number(li.dataset.playerId), li)
  const wanted = new Set(state.roster.map((p) => p.id))
  for (const [id, li] of existing) if (!wanted.has(id)) li.remove()
  state.roster.forEach((p, i) => {
    let li = existing.get(p.id)
    if (!li) {
      li = document.createElement('li')
      li.dataset.playerId = String(p.id)
      li.innerHTML = '<span class="name"></span><span class="score"></span>'
    }
    // Moved only when out of the roster's order: a player already in place is never taken out.
    if (list.children[i] !== li) list.insertBefore(li, list.children[i] ?? null)
    li.classList.toggle('away', p.away)
    li.querySelector('.name')!.textContent = (p.name ?? `Player ${p.id}`) + (p.away ? ' (away)' : '')
    li.querySelector('.score')!.textContent = extra(p.id)
  })
  document.querySelector('#player-count')!.textContent = `${state.roster.length} / ${state.maxPlayers}`
}

/** Show what the TV's own connection is doing (it resumes by itself). */
export function showHostConnection(host: HostClient): void {
  const el = document.querySelector<HTMLElement>('#tv-connection')!
  const set = (text: string, cls: string): void => {
    el.textContent = text
    el.className = `status ${cls}`
  }
  set('connected', 'connected')
  host.on('reconnecting', () => set('reconnecting…', 'reconnecting'))
  host.on('reconnected', () => set('connected', 'connected'))
  host.on('lost', (_code, reason) => set(`the room is gone: ${reason}`, 'ended'))
}
