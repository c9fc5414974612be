/**
 * The phone page, `/<CODE>`: joins the room with a name (at once when it has one, after
 * one tap otherwise), says where its connection stands, keeps the screen awake, and shows
 * what the game on the TV asks for: the quiz's four buttons, the race's joystick, or for a
 * game it does not know, the text the game sends.
 */
import { CloseCode, joinRoom, PartylineError, type PlayerClient } from '/sdk/partyline.js'
import { parseMessage, type ToPhone, type ToTv } from './demo-protocol.js'
import { proposedName } from './names.js'

const $ = <T extends HTMLElement = HTMLElement>(sel: string): T => document.querySelector<T>(sel)!
const code = location.pathname.replace(/^\/|\/$/g, '').toUpperCase()
const params = new URLSearchParams(location.search)
const nameKey = 'partyline.name'

/** Words for the ends a person may meet (the close codes of the protocol). */
const ENDINGS: Record<number, string> = {
  [CloseCode.Kicked]: 'kicked by the host',
  [CloseCode.RoomStopped]: 'the room has ended',
  [CloseCode.NoSuchRoom]: 'no such room',
  [CloseCode.HostGone]: 'the host left and did not come back',
  [CloseCode.Replaced]: 'this player was opened on another tab or phone',
  [CloseCode.RoomFull]: 'the room is full',
  [CloseCode.RoomStarted]: 'the game has started without new players',
  [CloseCode.TooManyAttempts]: 'too many tries from this network; wait a minute',
  [CloseCode.PolicyViolation]: 'the server refused this page (check the name: 1 to 32 characters)',
}
const ending = (code: number, reason: string): string => ENDINGS[code] ?? (reason || `disconnected (${code})`)

function setConnection(text: string, cls: 'connected' | 'reconnecting' | 'ended' | ''): void {
  const el = $('[data-testid="connection"]')
  el.textContent = text
  el.className = `status ${cls}`
  el.classList.toggle('hidden', text === '')
}

$<HTMLInputElement>('[data-testid="join-code"]').value = code
$<HTMLInputElement>('[data-testid="join-name"]').value = params.get('name') ?? localStorage.getItem(nameKey) ?? proposedName()
$('#room-title').textContent = `Room ${code}`

let player: PlayerClient | undefined
let wakeLock: { release(): Promise<void> } | undefined

async function join(name: string): Promise<void> {
  localStorage.setItem(nameKey, name)
  $<HTMLButtonElement>('[data-testid="join-submit"]').disabled = true
  // The connection element says "connected", "reconnecting…" or why the room is gone; while
  // joining it is hidden, and the button says so.
  setConnection('', '')
  $('[data-testid="join-submit"]').textContent = 'Joining…'
  try {
    player = await joinRoom(code, { name })
  } catch (e) {
    const err = e instanceof PartylineError ? e : new PartylineError(0, String(e))
    setConnection(ending(Number(err.code), err.reason), 'ended')
    $<HTMLButtonElement>('[data-testid="join-submit"]').disabled = false
    $('[data-testid="join-submit"]').textContent = 'Join'
    return
  }
  $('#join-form').classList.add('hidden')
  $('#game').classList.remove('hidden')
  $('#me').textContent = name
  setConnection('connected', 'connected')
  player.on('reconnecting', () => setConnection('reconnecting…', 'reconnecting'))
  player.on('reconnected', () => {
    setConnection('connected', 'connected')
    say({ t: 'hello' }) // the TV may have moved on while we were away
  })
  player.on('lost', (code, reason) => {
    setConnection(ending(code, reason), 'ended')
    show('ended')
    $('#ended-why').textContent = ending(code, reason)
    void wakeLock?.release()
  })
  player.on('message', onMessage)
  say({ t: 'hello' })
  void keepAwake()
}

/** Send to the TV. While reconnecting it is kept and sent after; past the bound, say so. */
function say(m: ToTv): boolean {
  try {
    const how = player!.send(JSON.stringify(m))
    $('#offline-note').classList.toggle('hidden', how === 'sent')
    return true
  } catch (e) {
    $('#offline-note').textContent = e instanceof PartylineError ? `Not sent: ${e.reason}` : 'Not sent'
    $('#offline-note').classList.remove('hidden')
    return false
  }
}

type Screen = 'lobby' | 'question' | 'result' | 'race' | 'text' | 'ended'
function show(screen: Screen): void {
  for (const s of ['lobby', 'question', 'result', 'race', 'text', 'ended'] as const) $(`#screen-${s}`).classList.toggle('hidden', s !== screen)
}

/** The round this phone answered and what, until the TV acknowledges it. */
let pending: { round: number; choice: number } | undefined

function onMessage(data: Uint8Array | string): void {
  const m = parseMessage<ToPhone>(data)
  if (!m) {
    // A game this page does not know: show what it says.
    show('text')
    $('#screen-text').textContent = typeof data === 'string' ? data : `${data.byteLength} bytes`
    return
  }
  switch (m.t) {
    case 'lobby':
      show('lobby')
      $('#lobby-text').textContent = m.round === 0 ? 'You are in! Watch the TV.' : `Score: ${m.score}. Next round soon.`
      $('#start').classList.toggle('hidden', !m.canStart)
      $('#start').textContent = m.round === 0 ? 'Start the game' : 'Next round'
      return
    case 'question': {
      show('question')
      const buttons = document.querySelectorAll<HTMLButtonElement>('#pad button')
      buttons.forEach((b, i) => {
        b.textContent = m.choices[i] ?? ''
        b.disabled = m.answered !== null
      })
      if (m.answered !== null) {
        pending = undefined
        $('#answer-state').textContent = 'Answer received ✓'
      } else if (pending?.round === m.round) {
        // Answered before a reconnect and the TV never got it: send it again.
        say({ t: 'answer', round: m.round, choice: pending.choice })
      } else {
        $('#answer-state').textContent = 'Tap the right answer!'
      }
      $('#pad').dataset.round = String(m.round)
      return
    }
    case 'ack':
      if (pending?.round === m.round) pending = undefined
      $('#answer-state').textContent = 'Answer received ✓'
      document.querySelectorAll<HTMLButtonElement>('#pad button').forEach((b) => (b.disabled = true))
      return
    case 'result':
      pending = undefined
      show('result')
      $('#result-title').textContent = m.correct ? `Right! +${m.points}` : `The answer was ${m.answer}`
      $('#result-score').textContent = `Score ${m.score} · rank ${m.rank}`
      $('#next').classList.toggle('hidden', !m.canStart)
      return
    case 'race':
      show('race')
      $('#knob').style.background = m.color
      return
    case 'ping':
      player?.send(JSON.stringify({ t: 'pong', n: m.n } satisfies ToTv))
      return
  }
}

document.querySelectorAll<HTMLButtonElement>('#pad button').forEach((b, i) =>
  b.addEventListener('click', () => {
    const round = Number($('#pad').dataset.round)
    pending = { round, choice: i }
    document.querySelectorAll<HTMLButtonElement>('#pad button').forEach((x) => (x.disabled = true))
    $('#answer-state').textContent = say({ t: 'answer', round, choice: i }) ? 'Sending…' : 'Not sent'
  }),
)
for (const id of ['#start', '#next']) $(id).addEventListener('click', () => say({ t: 'start' }))

// The race's joystick: the knob's offset from the centre, −100…100 each way, as two
// signed bytes, at most every 33 ms and only when it changed; (0, 0) on release.
{
  const pad = $('#joystick')
  let last = '0,0'
  let lastSent = 0
  const send = (dx: number, dy: number, force = false): void => {
    const key = `${dx},${dy}`
    const now = performance.now()
    if (!player || player.connection !== 'connected' || (key === last && !force) || (now - lastSent < 33 && !force)) return
    last = key
    lastSent = now
    player.send(new Uint8Array(new Int8Array([dx, dy]).buffer)) // stale moves are not worth keeping: only when connected
  }
  const move = (ev: PointerEvent): void => {
    const r = pad.getBoundingClientRect()
    let x = (ev.clientX - r.left - r.width / 2) / (r.width / 2)
    let y = (ev.clientY - r.top - r.height / 2) / (r.height / 2)
    const len = Math.hypot(x, y)
    if (len > 1) [x, y] = [x / len, y / len]
    $('#knob').style.left = `${35 + x * 35}%`
    $('#knob').style.top = `${35 + y * 35}%`
    send(Math.round(x * 100), Math.round(y * 100))
  }
  pad.addEventListener('pointerdown', (ev) => {
    pad.setPointerCapture(ev.pointerId)
    move(ev)
  })
  pad.addEventListener('pointermove', (ev) => {
    if (pad.hasPointerCapture(ev.pointerId)) move(ev)
  })
  const release = (): void => {
    $('#knob').style.left = '35%'
    $('#knob').style.top = '35%'
    send(0, 0, true)
  }
  pad.addEventListener('pointerup', release)
  pad.addEventListener('pointercancel', release)
}

/** Keep the screen on while in a room (Wake Lock API where the browser has it). */
async function keepAwake(): Promise<void> {
  const nav = navigator as Navigator & { wakeLock?: { request(type: 'screen'): Promise<{ release(): Promise<void> }> } }
  if (!nav.wakeLock || player?.connection === 'closed') return
  try {
    wakeLock = await nav.wakeLock.request('screen')
  } catch {
    // Refused (battery saver, not visible): the game works on, the screen may dim.
  }
}
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && player) void keepAwake()
})

$('#join-form').addEventListener('submit', (ev) => {
  ev.preventDefault()
  const name = $<HTMLInputElement>('[data-testid="join-name"]').value.trim().slice(0, 32)
  const typed = $<HTMLInputElement>('[data-testid="join-code"]').value.trim().toUpperCase()
  if (typed !== code) return location.assign(`/${encodeURIComponent(typed)}?name=${encodeURIComponent(name)}`)
  if (name) void join(name)
})

// Join at once when the name is known (from the front door, or this phone was here before).
const known = params.get('name') ?? (localStorage.getItem(`partyline.sid.${code}`) ? localStorage.getItem(nameKey) : null)
if (known) void join(known.slice(0, 32))
