/**
 * The floor: a relay written directly on `ws`, doing only what routing needs.
 * - Host: `/host`. The server's first frame to it is the room id (text). Each binary frame
 *   from the host is `[tag 0][payload]` and the payload goes to every player of its room.
 * - Player: `/<room id>`. Each binary frame goes to the host as `[player id u16 LE][payload]`.
 * `GET /healthz` answers 200.
 */
import { createServer } from 'node:http'
import { WebSocketServer, type WebSocket } from 'ws'
import { exitOnSignal, portFromEnv } from './listen.js'

interface Room {
  readonly host: WebSocket
  readonly players: Set<WebSocket>
  nextPlayer: number
}

const rooms = new Map<string, Room>()
let nextRoom = 1

const server = createServer((req, res) => {
  res.writeHead(req.url === '/healthz' ? 200 : 404).end()
})
const wss = new WebSocketServer({ server, maxPayload: 1024 * 1024 })

wss.on('connection', (ws, req) => {
  const path = (req.url ?? '/').slice(1)
  if (path === 'host') {
    const id = String(nextRoom++)
    const room: Room = { host: ws, players: new Set(), nextPlayer: 1 }
    rooms.set(id, room)
    ws.on('message', (data: Buffer, isBinary) => {
      if (!isBinary || data.length === 0 || data[0] !== 0) return
      const payload = data.subarray(1)
      for (const player of room.players) player.send(payload)
    })
    ws.on('close', () => {
      rooms.delete(id)
      for (const player of room.players) player.close(1000)
    })
    ws.send(id)
    return
  }
  const room = rooms.get(path)
  if (room === undefined) {
    ws.close(4004, 'no such room')
    return
  }
  const header = Buffer.alloc(2)
  header.writeUInt16LE(room.nextPlayer++ & 0xffff)
  room.players.add(ws)
  ws.on('message', (data: Buffer, isBinary) => {
    if (isBinary) room.host.send(Buffer.concat([header, data]))
  })
  ws.on('close', () => room.players.delete(ws))
})

server.listen(portFromEnv(), '127.0.0.1')
exitOnSignal(server, () => {
  for (const client of wss.clients) client.terminate()
})
