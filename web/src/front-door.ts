/** The front door, `/`: a room code and a name open that room's phone page. */
import { proposedName } from './names.js'

const $ = <T extends HTMLElement = HTMLElement>(sel: string): T => document.querySelector<T>(sel)!
const codeInput = $<HTMLInputElement>('[data-testid="join-code"]')
const nameInput = $<HTMLInputElement>('[data-testid="join-name"]')
nameInput.value = localStorage.getItem('partyline.name') ?? proposedName()

function fail(text: string): void {
  $('#join-error').textContent = text
  $('#join-error').classList.remove('hidden')
  $<HTMLButtonElement>('[data-testid="join-submit"]').disabled = false
}

$('#join-form').addEventListener('submit', async (ev) => {
  ev.preventDefault()
  const code = codeInput.value.trim().toUpperCase()
  const name = nameInput.value.trim().slice(0, 32)
  if (!/^[A-Z]{4,6}$/.test(code)) return fail('A room code is four letters, as shown on the TV.')
  if (!name) return fail('Pick a name.')
  $<HTMLButtonElement>('[data-testid="join-submit"]').disabled = true
  // Check the code first, so a typo is answered here rather than after the page changes.
  const res = await fetch(`/api/rooms/${code}`).catch(() => undefined)
  if (!res) return fail('The server cannot be reached.')
  if (res.status === 404) return fail(`No room ${code}: check the code on the TV.`)
  if (res.status === 429) return fail('Too many wrong codes from this network: wait a minute.')
  localStorage.setItem('partyline.name', name)
  location.assign(`/${code}?name=${encodeURIComponent(name)}`)
})

// Public rooms, for a party where the TV is across the room.
void fetch('/api/rooms')
  .then((r) => (r.ok ? (r.json() as Promise<{ rooms: { key: string; name: string; players: number; max_players: number; accept_conns: boolean }[] }>) : undefined))
  .then((body) => {
    const open = (body?.rooms ?? []).filter((r) => r.accept_conns && r.players < r.max_players)
    if (open.length === 0) return
    $('#lobby').classList.remove('hidden')
    for (const r of open) {
      const li = document.createElement('li')
      const a = document.createElement('a')
      a.href = `/${r.key}`
      a.textContent = `${r.name || 'a room'} · ${r.key}`
      li.append(a, Object.assign(document.createElement('span'), { textContent: `${r.players}/${r.max_players}`, className: 'muted' }))
      $('#lobby-rooms').append(li)
    }
  })
  .catch(() => undefined)
