/**
 * Socket.IO 4 with rooms, the way a party game would use it.
 * - Host: connects with `query.role = 'host'`, gets its room id in a `room` event, and emits
 *   `d` (bytes), which goes to the Socket.IO room of its players.
 * - Player: connects with `query.room = <id>`, gets `joined`, and emits `u` (bytes), which
 *   reaches the host as `u` (player id, bytes).
 * WebSocket transport only (no long-polling), no compression. `GET /healthz` answers 200.
 */
import { createServer } from 'node:http'
import { Server, type Socket } from 'socket.io'
import { exitOnSignal, portFromEnv } from './listen.js'

const server = createServer((req, res) => {
  if (req.url === '/healthz') res.writeHead(200).end()
})
const io = new Server(server, {
  serveClient: false,
  transports: ['websocket'],
  perMessageDeflate: false,
  maxHttpBufferSize: 1024 * 1024,
})

const hosts = new Map<string, Socket>()
let nextRoom = 1
let nextPlayer = 1

io.on('connection', (socket) => {
  const query = socket.handshake.query
  if (query.role === 'host') {
    const room = `r${nextRoom++}`
    hosts.set(room, socket)
    socket.on('d', (data: Buffer) => {
      io.to(room).emit('d', data)
    })
    socket.on('disconnect', () => {
      hosts.delete(room)
      io.in(room).disconnectSockets(true)
    })
    socket.emit('room', room)
    return
  }
  const room = typeof query.room === 'string' ? query.room : ''
  const host = hosts.get(room)
  if (host === undefined) {
    socket.disconnect(true)
    return
  }
  const id = nextPlayer++
  void socket.join(room)
  socket.on('u', (data: Buffer) => {
    host.emit('u', id, data)
  })
  socket.emit('joined', id)
})

server.listen(portFromEnv(), '127.0.0.1')
exitOnSignal(server, () => {
  io.disconnectSockets(true)
})
