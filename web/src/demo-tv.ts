/**
 * The demo party game, TV side: "Quick maths". The TV creates a room and shows its code
 * and QR code; phones join with a name; a round shows a sum and four answers; the phones
 * are four big buttons; fast right answers score more; the TV shows the scores, then
 * another round. Everything goes through the public SDK (`/sdk/partyline.js`): this file is
 * the example the README walks through.
 */
import { createRoom, type HostClient } from '/sdk/partyline.js'
import { parseMessage, type ToPhone, type ToTv } from './demo-protocol.js'
import { nameOf, renderPlayers, showHostConnection, showRoom } from './tv-common.js'

const ROUND_MS = 15_000
const $ = <T extends HTMLElement = HTMLElement>(sel: string): T => document.querySelector<T>(sel)!

interface Question {
  readonly text: string
  readonly choices: readonly string[]
  readonly correct: number
  readonly startedAt: number
}

/** What the game remembers; kept in sessionStorage so that a reloaded TV carries on. */
interface Game {
  round: number
  phase: 'lobby' | 'question' | 'results'
  scores: Record<number, number>
  /** This round's answers: player → [choice, ms after the question]. */
  answers: Record<number, [number, number]>
  question: Question | undefined
}

const saved = sessionStorage.getItem('demo.game')
const game: Game = saved ? (JSON.parse(saved) as Game) : { round: 0, phase: 'lobby', scores: {}, answers: {}, question: undefined }
// A reload in the middle of a question ends that question (its timer died with the page).
if (game.phase === 'question') game.phase = 'results'
const save = (): void => sessionStorage.setItem('demo.game', JSON.stringify(game))

/** A sum with its answer and three close wrong ones, in random order. */
function newQuestion(): Question {
  const a = 2 + Math.floor(Math.random() * 11)
  const b = 2 + Math.floor(Math.random() * 11)
  const times = Math.random() < 0.5
  const answer = times ? a * b : a + b
  const wrong = new Set<number>()
  while (wrong.size < 3) {
    const w = answer + (Math.floor(Math.random() * 9) - 4) * (times ? Math.min(a, b) > 5 ? 2 : 1 : 1)
    if (w !== answer && w > 0) wrong.add(w)
  }
  const choices = [answer, ...wrong].sort(() => Math.random() - 0.5)
  return { text: `${a} ${times ? '×' : '+'} ${b}`, choices: choices.map(String), correct: choices.indexOf(answer), startedAt: Date.now() }
}

// In a page, createRoom talks to the server the page came from. It keeps the room code
// and resume token in sessionStorage: after a reload it takes the same room back.
const host: HostClient = await createRoom({ maxPlayers: 12, name: 'Quick maths', storageKey: 'partyline.demo' })
await showRoom(host.code)
showHostConnection(host)

/** The players who can play now: in the room and not away. */
const present = (): number[] => (host.state?.roster ?? []).filter((p) => !p.away).map((p) => p.id)
/** The first player (lowest id present) may start rounds from their phone. */
const firstPlayer = (): number | undefined => present().sort((a, b) => a - b)[0]

function tell(player: number, message: ToPhone): void {
  host.sendText(JSON.stringify(message), [player])
}

/** What a phone should show right now. */
function screenFor(player: number): ToPhone {
  const score = game.scores[player] ?? 0
  const canStart = player === firstPlayer()
  const q = game.question
  if (game.phase === 'question' && q) return { t: 'question', round: game.round, choices: q.choices, answered: game.answers[player]?.[0] ?? null }
  if (game.phase === 'results' && q) return resultFor(player, canStart)
  return { t: 'lobby', round: game.round, canStart, score }
}

function resultFor(player: number, canStart: boolean): ToPhone {
  const q = game.question!
  const mine = game.answers[player]
  const ranked = Object.entries(game.scores).sort((x, y) => y[1] - x[1]).map(([id]) => Number(id))
  return {
    t: 'result',
    round: game.round,
    correct: mine?.[0] === q.correct,
    points: pointsOf(mine),
    score: game.scores[player] ?? 0,
    rank: ranked.indexOf(player) + 1 || ranked.length + 1,
    answer: q.choices[q.correct]!,
    canStart,
  }
}

/** 500 for a right answer, plus up to 500 for speed. */
function pointsOf(answer: [number, number] | undefined): number {
  const q = game.question
  if (!q || !answer || answer[0] !== q.correct) return 0
  return 500 + Math.round(500 * Math.max(0, 1 - answer[1] / ROUND_MS))
}

let roundTimer: ReturnType<typeof setTimeout> | undefined
let tick: ReturnType<typeof setInterval> | undefined

function startRound(): void {
  if (game.phase === 'question' || present().length === 0) return
  game.round++
  game.phase = 'question'
  game.answers = {}
  game.question = newQuestion()
  save()
  for (const id of present()) tell(id, screenFor(id))
  roundTimer = setTimeout(endRound, ROUND_MS)
  tick = setInterval(render, 250)
  render()
}

function endRound(): void {
  if (game.phase !== 'question') return
  clearTimeout(roundTimer)
  clearInterval(tick)
  for (const [id, answer] of Object.entries(game.answers)) game.scores[Number(id)] = (game.scores[Number(id)] ?? 0) + pointsOf(answer)
  game.phase = 'results'
  save()
  for (const id of host.state?.players ?? []) tell(id, screenFor(id))
  render()
}

host.on('from_str', (player, data) => {
  const m = parseMessage<ToTv>(data)
  if (!m) return
  switch (m.t) {
    case 'hello': // a phone (re)connected: show it where we are
      return tell(player, screenFor(player))
    case 'start':
      if (player === firstPlayer()) startRound()
      return
    case 'answer': {
      const q = game.question
      if (game.phase !== 'question' || m.round !== game.round || !q || !(m.choice >= 0 && m.choice < 4)) return
      // The first answer counts; a phone that resends after a reconnect just gets the ack again.
      game.answers[player] ??= [m.choice, Date.now() - q.startedAt]
      save()
      tell(player, { t: 'ack', round: game.round, choice: game.answers[player][0] })
      render()
      if (present().every((id) => game.answers[id])) endRound()
      return
    }
  }
})
host.on('player_joined', (player) => tell(player, screenFor(player)))
// The roster changed (someone joined, left, went away or came back): redraw, and tell
// the (possibly new) first player that the start button is theirs.
let lastFirst: number | undefined
host.on('state', () => {
  const first = firstPlayer()
  if (first !== lastFirst && first !== undefined && game.phase !== 'question') tell(first, screenFor(first))
  lastFirst = first
  render()
})

function render(): void {
  if (host.state) renderPlayers(host.state, (id) => String(game.scores[id] ?? 0))
  const q = game.question
  $('#start-round').textContent = game.round === 0 ? 'Start the game' : 'Next round'
  $<HTMLButtonElement>('#start-round').disabled = game.phase === 'question' || present().length === 0
  $('#lobby').classList.toggle('hidden', game.phase !== 'lobby')
  $('#round').classList.toggle('hidden', game.phase === 'lobby' || !q)
  if (!q) return
  $('#round-title').textContent = `Round ${game.round}`
  $('#question').textContent = `${q.text} = ?`
  $('#choices').innerHTML = ''
  q.choices.forEach((c, i) => {
    const div = document.createElement('div')
    div.className = `choice c${i}${game.phase === 'results' && i !== q.correct ? ' wrong' : ''}`
    div.textContent = c
    $('#choices').append(div)
  })
  const left = Math.max(0, ROUND_MS - (Date.now() - q.startedAt))
  $('#timer').classList.toggle('hidden', game.phase !== 'question')
  $<HTMLElement>('#timer > div').style.width = `${(100 * left) / ROUND_MS}%`
  $('#answered').textContent = game.phase === 'question' ? `${Object.keys(game.answers).length} of ${present().length} answered` : ''
  $('#results').classList.toggle('hidden', game.phase !== 'results')
  if (game.phase === 'results') {
    const rows = Object.keys({ ...game.scores, ...game.answers })
      .map(Number)
      .sort((a, b) => (game.scores[b] ?? 0) - (game.scores[a] ?? 0))
      .map((id) => {
        const pts = pointsOf(game.answers[id])
        return `<tr data-result-player="${id}"><td>${escapeHtml(nameOf(host.state, id))}</td><td class="num">${pts ? `+${pts}` : '—'}</td><td class="num">${game.scores[id] ?? 0}</td></tr>`
      })
    $('#results tbody').innerHTML = rows.join('')
  }
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

$('#start-round').addEventListener('click', startRound)
$('#new-room').addEventListener('click', () => {
  // End this room (its players are told it has ended) and start afresh once it has.
  host.forget()
  sessionStorage.removeItem('demo.game')
  void host.once('close').then(() => location.reload())
  host.stop()
})
render()
