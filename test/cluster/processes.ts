/**
 * Real `partyline serve` processes sharing one nats-server and one redis-server, for tests
 * that kill a node (kill -9) or stop it (SIGTERM).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PartylineNode } from '../../src/launchers/partyline-node.js'
import { freePort } from '../../src/launchers/spawned-server.js'
import { HostPeer, type Msg } from '../helpers/server.js'
import type { Engines } from './cluster-nodes.js'

const command = { file: process.execPath, args: ['--import=tsx', fileURLToPath(new URL('../../src/main.ts', import.meta.url))] }

export const LEASE_MS = 2000
export const ADMIN_TOKEN = 'cluster-test-admin-token'
export const SHUTDOWN_MS = 2000

let n = 0

/** `count` node processes on the engines, with short leases; every one sees the others' leases. */
export async function startProcesses(t: { teardown(fn: () => unknown): void }, engines: Engines, count: number, env: Record<string, string> = {}): Promise<PartylineNode[]> {
  const parentDir = await mkdtemp(join(tmpdir(), 'partyline-cluster-'))
  t.teardown(() => rm(parentDir, { recursive: true, force: true }))
  const nodes: PartylineNode[] = []
  const run = ++n
  for (let i = 0; i < count; i++) {
    const node = await PartylineNode.create({
      id: `p${run}n${i + 1}`,
      port: await freePort(),
      parentDir,
      command,
      stopBoundMs: SHUTDOWN_MS + 1000,
      env: {
        // A database of its own per test: rooms left by an earlier test's nodes stay out of it.
        REDIS_URL: `${engines.redis.url}/${run % 16}`,
        NATS_URL: engines.nats.url,
        PARTYLINE_NODE_LEASE_MS: String(LEASE_MS),
        PARTYLINE_HOST_GRACE_MS: '15000',
        PARTYLINE_PLAYER_GRACE_MS: '15000',
        PARTYLINE_SHUTDOWN_MS: String(SHUTDOWN_MS),
        PARTYLINE_CLICKPLANET: 'false',
        PARTYLINE_LOG_LEVEL: 'warn',
        PARTYLINE_ADMIN_TOKEN: ADMIN_TOKEN,
        // Every client of these tests is 127.0.0.1, and resumes and joins refused while a
        // room moves count as failed joins: the default 30 a minute would end a rolling
        // restart's test with 4029.
        PARTYLINE_JOIN_ATTEMPTS_PER_MINUTE: '1000',
        ...env,
      },
    })
    t.teardown(() => node.stop())
    nodes.push(node)
  }
  await Promise.all(nodes.map((node) => node.restart()))
  return nodes
}

/**
 * A host page that resumes `key` on `node` as a real page would: on 1012 or an answer that
 * never comes (the owner it reached just died), it opens a new connection and tries again.
 */
export async function resumeHost(node: { ws: string }, key: string, token: string, ms = 15_000): Promise<{ host: HostPeer; reply: Msg; state: Msg }> {
  const deadline = Date.now() + ms
  for (;;) {
    const host = new HostPeer(node)
    try {
      await host.opened
      host.command({ cmd: 'resume', key, token })
      const reply = await host.message(undefined, 3000)
      if (reply.cmd === 'prepare_reply') return { host, reply, state: await host.message('state') }
      if (reply.cmd !== 'error' || reply.code !== 'no_such_room') throw new Error(`resume answered ${JSON.stringify(reply)}`)
    } catch (err) {
      if (Date.now() > deadline) throw err
    }
    host.close()
    if (Date.now() > deadline) throw new Error(`room ${key} could not be resumed on ${node.ws}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** What `/api/admin/rooms` of `node` says about room `key` when `node` runs it (undefined: it does not). */
export async function adminRoom(node: { url: string; id: string }, key: string): Promise<{ frames: { in: number }; players: unknown[]; node: string } | undefined> {
  const res = await fetch(`${node.url}/api/admin/rooms`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
  const body = (await res.json()) as { rooms: { code: string; frames: { in: number }; players: unknown[]; node: string }[] }
  return body.rooms.find((r) => r.code === key && r.node === node.id)
}

/** Resolves once `check()` resolves true; rejects after `ms` with `what`. */
export async function eventually(check: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** The next `from_str` messages until one from each of `ids` arrived; returns them by id. */
export async function fromEach(host: HostPeer, ids: number[]): Promise<Map<number, string>> {
  const got = new Map<number, string>()
  while (ids.some((id) => !got.has(id))) {
    const m: Msg = await host.message(undefined, 10_000)
    if (m.cmd === 'from_str') got.set(Number(m.from), String(m.data))
  }
  return got
}
