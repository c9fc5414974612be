/**
 * A ClickPlanet bench server in a child process pinned to one core: `entry --serve …args`
 * prints its port on its first line (see `clickplanet.ts`). Used by the single-node and the
 * cluster rows alike.
 */
import { spawn, type ChildProcess } from 'node:child_process'

export async function serveChild(entry: string, args: readonly string[], core: number, env: Record<string, string> = {}): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn('taskset', ['-c', String(core), process.execPath, '--import', 'tsx', entry, '--serve', ...args], {
    stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...env },
  })
  const port = await new Promise<number>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('\n')) resolve(Number(out.trim())) })
    child.once('exit', (c) => reject(new Error(`server exited ${c}`)))
  })
  return { child, port }
}

/** SIGTERM, resolved when the child has exited. */
export function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => { child.once('exit', () => resolve()); child.kill('SIGTERM') })
}
