import WebSocket from 'ws'
import {
  decodeClickResponse, decodeLeaderboard, decodeOwnershipState, decodeUpdateNotification,
  encodeBatchRequest, encodeClickRequest,
  type ClickResponse, type LeaderboardEntry, type Ownership, type UpdateNotification,
} from '../../../src/games/clickplanet/messages.js'

/** The headers the reference client sends. */
export const REFERENCE_HEADERS = {
  'content-type': 'application/json',
  origin: 'https://clickplanet.lol',
  referer: 'https://clickplanet.lol/',
  'user-agent': 'clickplanet-client/0.1 (rust reqwest)',
} as const

/** POSTs `{"data":[…bytes as ints…]}` like the reference client. */
export function postBytes(url: string, bytes: Uint8Array, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { ...REFERENCE_HEADERS, ...headers },
    body: JSON.stringify({ data: Array.from(bytes) }),
  })
}

export async function dataOf(res: Response): Promise<Buffer> {
  const body = (await res.json()) as { data?: unknown }
  if (typeof body.data !== 'string') throw new Error(`no data in ${JSON.stringify(body)}`)
  return Buffer.from(body.data, 'base64')
}

export async function click(base: string, tileId: number, countryId: string, prefix = '/api'): Promise<ClickResponse> {
  const res = await postBytes(`${base}${prefix}/click`, encodeClickRequest({ tileId, countryId }))
  if (res.status !== 200) throw new Error(`click ${tileId} ${countryId}: HTTP ${res.status} ${await res.text()}`)
  return decodeClickResponse(await dataOf(res))
}

export async function ownerships(base: string, prefix = '/api'): Promise<Ownership[]> {
  const res = await fetch(`${base}${prefix}/ownerships`, { headers: REFERENCE_HEADERS })
  return decodeOwnershipState(await dataOf(res))
}

export async function batch(base: string, start: number, end: number, prefix = '/api'): Promise<Ownership[]> {
  const res = await postBytes(`${base}${prefix}/ownerships-by-batch`, encodeBatchRequest({ startTileId: start, endTileId: end }))
  return decodeOwnershipState(await dataOf(res))
}

export async function leaderboard(base: string, prefix = '/v2/rpc'): Promise<LeaderboardEntry[]> {
  const res = await fetch(`${base}${prefix}/leaderboard`, { headers: REFERENCE_HEADERS })
  return decodeLeaderboard(await dataOf(res))
}

/** Resolves when `check` returns a value other than undefined; rejects after `ms`. */
export async function waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await check()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** A `/ws/listen` client that records every UpdateNotification. */
export class Listener {
  readonly updates: UpdateNotification[] = []
  readonly ws: WebSocket
  readonly #waiters: (() => void)[] = []
  closeCode: number | undefined

  private constructor(ws: WebSocket) {
    this.ws = ws
    ws.on('message', (data: Buffer, isBinary) => {
      if (!isBinary) throw new Error('text frame on /ws/listen')
      this.updates.push(decodeUpdateNotification(data))
      for (const w of this.#waiters.splice(0)) w()
    })
    ws.on('close', (code) => {
      this.closeCode = code
      for (const w of this.#waiters.splice(0)) w()
    })
  }

  static async open(url: string): Promise<Listener> {
    const ws = new WebSocket(url)
    const l = new Listener(ws)
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve())
      ws.once('error', reject)
    })
    return l
  }

  /** Waits until at least `n` updates arrived (bounded). */
  async waitCount(n: number, ms = 10_000): Promise<UpdateNotification[]> {
    const deadline = Date.now() + ms
    while (this.updates.length < n) {
      if (this.closeCode !== undefined) throw new Error(`listener closed (${this.closeCode}) with ${this.updates.length}/${n} updates`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out with ${this.updates.length}/${n} updates`)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left)
        this.#waiters.push(() => { clearTimeout(t); resolve() })
      })
    }
    return this.updates
  }

  async waitClose(ms = 10_000): Promise<number> {
    await waitFor('listener close', () => this.closeCode, ms)
    return this.closeCode!
  }

  close(): void { this.ws.close() }
}
