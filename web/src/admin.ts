/**
 * The operator's view, `/admin`: asks for the admin token (Enter submits; kept in this
 * tab's sessionStorage), then shows every room with its players and figures, refreshed
 * every two seconds, with start, kick and stop as buttons, and the node's main figures.
 */
const $ = <T extends HTMLElement = HTMLElement>(sel: string): T => document.querySelector<T>(sel)!
const TOKEN_KEY = 'partyline.admin.token'

/** `GET /api/admin/rooms` (the README documents the shape). */
interface Overview {
  readonly scope: 'node' | 'cluster'
  readonly nodes: readonly {
    readonly id: string
    readonly self: boolean
    readonly connections: Record<string, number>
    readonly rooms: number
    readonly framesPerSecond: { readonly in: number; readonly out: number }
    readonly busP99Ms: number | null
  }[]
  readonly rooms: readonly {
    readonly code: string
    readonly name: string
    readonly node: string
    readonly preset: boolean
    readonly started: boolean
    readonly hostConnected: boolean
    readonly maxPlayers: number
    readonly players: readonly { readonly id: number; readonly name?: string; readonly connected: boolean; readonly node: string }[]
    readonly frames: { readonly in: number; readonly out: number }
    readonly bytes: { readonly in: number; readonly out: number }
    readonly ageMs: number
  }[]
}

let token = sessionStorage.getItem(TOKEN_KEY) ?? ''
let timer: ReturnType<typeof setInterval> | undefined

function askForToken(error?: string): void {
  clearInterval(timer)
  $('#token-form').classList.remove('hidden')
  $('#dashboard').classList.add('hidden')
  $('#token-error').textContent = error ?? ''
  $('#token-error').classList.toggle('hidden', !error)
  $<HTMLInputElement>('[data-testid="admin-token"]').focus()
}

async function api(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Response> {
  return fetch(path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
}

async function refresh(): Promise<void> {
  let res: Response
  try {
    res = await api('GET', '/api/admin/rooms')
  } catch {
    $('#scope').textContent = 'The server cannot be reached; retrying…'
    return
  }
  if (res.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY)
    return askForToken('That token was refused.')
  }
  if (!res.ok) {
    $('#scope').textContent = `The server answered ${res.status}.`
    return
  }
  render((await res.json()) as Overview)
}

const fmt = (n: number): string => n.toLocaleString(undefined, { maximumFractionDigits: 1 })
const bytes = (n: number): string => (n < 1024 ? `${n} B` : n < 1048576 ? `${fmt(n / 1024)} KiB` : `${fmt(n / 1048576)} MiB`)
const age = (ms: number): string => (ms < 60_000 ? `${Math.round(ms / 1000)} s` : ms < 3_600_000 ? `${Math.round(ms / 60_000)} min` : `${fmt(ms / 3_600_000)} h`)

function render(o: Overview): void {
  $('#scope').textContent = o.scope === 'node' ? `This node only (${o.nodes.length} node listed).` : `Every node of the cluster (${o.nodes.length}).`
  $('#figures').replaceChildren(
    ...o.nodes.flatMap((n) => {
      const conns = Object.values(n.connections).reduce((a, b) => a + b, 0)
      const cells: [string, string][] = [
        ['node', n.id + (n.self ? ' (this one)' : '')],
        ['connections', `${conns} (${Object.entries(n.connections).map(([k, v]) => `${v} ${k}`).join(', ')})`],
        ['rooms', String(n.rooms)],
        ['frames/s in · out', `${fmt(n.framesPerSecond.in)} · ${fmt(n.framesPerSecond.out)}`],
      ]
      if (n.busP99Ms !== null) cells.push(['bus p99', `${fmt(n.busP99Ms)} ms`])
      return cells.map(([label, value]) => {
        const div = document.createElement('div')
        div.append(Object.assign(document.createElement('span'), { className: 'muted', textContent: label }), Object.assign(document.createElement('b'), { textContent: value }))
        return div
      })
    }),
  )
  const list = $('[data-testid="admin-rooms"]')
  list.replaceChildren(
    ...o.rooms.map((r) => {
      const div = document.createElement('div')
      div.className = 'room'
      div.dataset.room = r.code
      const head = document.createElement('div')
      head.className = 'row'
      head.innerHTML = `<b class="code-small"></b><span class="name"></span><span class="muted figures-line"></span>`
      head.querySelector('b')!.textContent = r.code
      head.querySelector('.name')!.textContent = r.name || '(no name)'
      head.querySelector('.figures-line')!.textContent =
        `${r.players.length}/${r.maxPlayers} players · ${r.started ? 'started' : 'open'} · host ${r.hostConnected ? 'connected' : 'away'} · node ${r.node} · ` +
        `frames ${fmt(r.frames.in)} in / ${fmt(r.frames.out)} out · ${bytes(r.bytes.in)} / ${bytes(r.bytes.out)} · ${age(r.ageMs)} old`
      if (!r.preset) {
        head.append(action(`Start ${r.code}`, 'Start', !r.started, () => act(r.code, 'start')))
        head.append(action(`Stop ${r.code}`, 'Stop', true, () => act(r.code, 'stop')))
      }
      div.append(head)
      if (r.players.length > 0) {
        const table = document.createElement('table')
        table.innerHTML = '<thead><tr><th>id</th><th>name</th><th>state</th><th>node</th><th></th></tr></thead><tbody></tbody>'
        for (const p of r.players) {
          const tr = document.createElement('tr')
          tr.dataset.player = String(p.id)
          for (const text of [String(p.id), p.name ?? '', p.connected ? 'connected' : 'away', p.node]) tr.append(Object.assign(document.createElement('td'), { textContent: text }))
          const td = document.createElement('td')
          if (!r.preset) td.append(action(`Kick ${p.name ?? p.id} from ${r.code}`, 'Kick', true, () => act(r.code, 'kick', { player: p.id })))
          tr.append(td)
          table.tBodies[0]!.append(tr)
        }
        div.append(table)
      }
      return div
    }),
  )
  if (o.rooms.length === 0) list.innerHTML = '<p class="muted">No rooms.</p>'
}

function action(label: string, text: string, enabled: boolean, run: () => void): HTMLButtonElement {
  const b = document.createElement('button')
  b.type = 'button'
  b.className = 'secondary'
  b.textContent = text
  b.disabled = !enabled
  b.setAttribute('aria-label', label)
  b.addEventListener('click', run)
  return b
}

async function act(code: string, what: 'start' | 'stop' | 'kick', body: unknown = {}): Promise<void> {
  const res = await api('POST', `/api/admin/rooms/${code}/${what}`, body)
  let why = ''
  if (!res.ok) why = ((await res.json().catch(() => ({}))) as { error?: string }).error ?? `HTTP ${res.status}`
  $('#action-status').textContent = res.ok ? `${what} ${code}: done` : `${what} ${code}: ${why}`
  if (res.status === 401) return askForToken('That token was refused.')
  await refresh()
}

function showDashboard(): void {
  $('#token-form').classList.add('hidden')
  $('#dashboard').classList.remove('hidden')
  void refresh()
  clearInterval(timer)
  timer = setInterval(() => void refresh(), 2000)
}

$('#token-form').addEventListener('submit', (ev) => {
  ev.preventDefault()
  token = $<HTMLInputElement>('[data-testid="admin-token"]').value.trim()
  sessionStorage.setItem(TOKEN_KEY, token)
  showDashboard()
})
$('#sign-out').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY)
  token = ''
  askForToken()
})
if (token) showDashboard()
else askForToken()
