/**
 * What the persistence fault tests share: a real `partyline serve` process on a data
 * directory, a real small filesystem (tmpfs) to fill, and byte-level damage to real files.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, open, rm, statfs } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { Test } from 'tap'
import { encodeClickRequest } from '../../../src/games/clickplanet/messages.js'
import { until } from '../../helpers/server.js'
import { SMALL_MAP } from './harness.js'
import { ownerships, postBytes } from './helpers.js'

const MAIN = fileURLToPath(new URL('../../../src/main.ts', import.meta.url))
const run = promisify(execFile)

export async function tempDir(t: Test, prefix = 'cp-data-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** A `partyline serve` process (the real command, `src/main.ts`) on a data directory. */
export interface ServeProcess {
  readonly child: ChildProcess
  /** Everything written to stdout (pino JSON lines) and stderr so far. */
  readonly out: () => string
  readonly err: () => string
  /** Resolves with the exit code (or the signal's name). */
  readonly exited: Promise<number | string>
}

/** Starts `partyline serve` on `dataDir` with the small map and no click limit. */
export function serve(t: Test, dataDir: string, extra: readonly string[] = []): ServeProcess {
  const child = spawn(process.execPath, [
    '--import=tsx', MAIN, 'serve', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir,
    '--map', SMALL_MAP, '--click-rate', '0', '--log-level', 'info', ...extra,
  ], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()))
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)))
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  return { child, out: () => out, err: () => err, exited }
}

/**
 * The crash tests' child (fixtures/serve-child.ts: the test harness in its own process, so
 * it can be killed with SIGKILL), with a snapshot every `snapshotEveryClicks` if given.
 */
export async function serveChild(t: Test, dataDir: string, snapshotEveryClicks?: number): Promise<{ child: ChildProcess; base: string; exited: Promise<void> }> {
  const fixture = fileURLToPath(new URL('./fixtures/serve-child.ts', import.meta.url))
  const args = snapshotEveryClicks === undefined ? [] : [String(snapshotEveryClicks)]
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, dataDir, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const port = await new Promise<number>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      if (out.includes('\n')) resolve(Number(out.trim()))
    })
    child.once('exit', (code) => reject(new Error(`child exited ${code}`)))
  })
  return { child, base: `http://127.0.0.1:${port}`, exited }
}

/** Waits for the process's "listening" log line; its base URL. */
export async function listening(p: ServeProcess, ms = 20_000): Promise<string> {
  let exit: number | string | undefined
  void p.exited.then((code) => (exit = code))
  await until(() => /"port":\d+/.test(p.out()) || exit !== undefined, 'partyline serve to listen', ms)
  const m = /"port":(\d+)/.exec(p.out())
  if (m === null) throw new Error(`partyline serve exited ${exit} before listening: ${p.err()}${p.out()}`)
  return `http://127.0.0.1:${m[1]}`
}

/** The JSON log lines of a process whose message matches. */
export function logLines(p: ServeProcess, msg: RegExp): Record<string, unknown>[] {
  return p.out().split('\n').filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => typeof l['msg'] === 'string' && msg.test(l['msg']))
}

/** One click; the HTTP status (0 when the connection failed). */
export async function tryClick(base: string, tileId: number, countryId: string): Promise<number> {
  try {
    const res = await postBytes(`${base}/api/click`, encodeClickRequest({ tileId, countryId }))
    await res.arrayBuffer()
    return res.status
  } catch {
    return 0
  }
}

/** tile → country of every owned tile. */
export async function ownerMap(base: string): Promise<Map<number, string>> {
  return new Map((await ownerships(base)).map((o) => [o.tileId, o.countryId]))
}

/** XORs one byte of a file with 0xff. */
export async function flipByte(path: string, offset: number): Promise<void> {
  const fh = await open(path, 'r+')
  try {
    const b = Buffer.alloc(1)
    await fh.read(b, 0, 1, offset)
    b[0]! ^= 0xff
    await fh.write(b, 0, 1, offset)
  } finally {
    await fh.close()
  }
}

/**
 * A real filesystem of `bytes` (tmpfs) mounted on a fresh directory, unmounted on teardown;
 * undefined when this process may not mount (not root, no CAP_SYS_ADMIN).
 */
export async function smallDisk(t: Test, bytes: number): Promise<string | undefined> {
  const dir = await mkdtemp(join(tmpdir(), 'cp-disk-'))
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir])
  } catch {
    await rm(dir, { recursive: true, force: true })
    return undefined
  }
  t.teardown(async () => {
    await run('umount', ['-l', dir]).catch(() => {})
    await rm(dir, { recursive: true, force: true })
  })
  return dir
}

/** Bytes free for an unprivileged writer on the filesystem of `dir`. */
export async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir)
  return s.bavail * s.bsize
}

/**
 * Fills the filesystem of `dir` with a file `filler` until at most `leave` bytes are free
 * (0: until a write fails with ENOSPC). Returns the filler's path.
 */
export async function fillDisk(dir: string, leave = 0): Promise<string> {
  const path = join(dir, 'filler')
  const fh = await open(path, 'a')
  try {
    const chunk = Buffer.alloc(4096, 0x5a)
    for (;;) {
      const free = await freeBytes(dir)
      if (free <= leave) break
      const n = Math.min(chunk.length, free - leave)
      try {
        await fh.write(chunk, 0, n)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break
        throw err
      }
    }
  } finally {
    await fh.close()
  }
  return path
}
