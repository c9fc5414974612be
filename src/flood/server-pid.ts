/**
 * Which process `--pid` should measure. `npm start` runs npm, which runs a shell, which runs
 * the server: the pid people see first is npm's, and measuring it reads 0 % CPU. So a pid
 * that is not a partyline server is followed down its children to the one that is, or
 * refused with a message that says how to find the right one.
 */
import { readdirSync, readFileSync } from 'node:fs'

/** The argv of a process, or `undefined` when it is gone (or /proc is not there). */
function argvOf(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a.length > 0)
  } catch {
    return undefined
  }
}

/** A partyline server: a `node` running partyline's main (`dist/src/main.js`, `src/main.ts`, or the `partyline` bin) to serve. */
export function isPartylineServer(argv: readonly string[]): boolean {
  if (argv.length === 0 || !/(^|\/)node(js)?$/.test(argv[0]!)) return false
  const script = argv.findIndex((a, i) => i > 0 && /(^|\/)(main\.[jt]s|partyline)$/.test(a))
  if (script === -1) return false
  const command = argv.slice(script + 1).find((a) => !a.startsWith('-'))
  return command === undefined || command === 'serve' || /^\d+$/.test(command)
}

function childrenOf(pid: number): number[] {
  const out: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid === pid) out.push(Number(entry))
    } catch {
      // gone meanwhile
    }
  }
  return out
}

export type ServerPid = { readonly pid: number; readonly followedFrom?: number } | { readonly error: string }

const isNode = (argv: readonly string[]): boolean => argv.length > 0 && /(^|\/)node(js)?$/.test(argv[0]!)

/**
 * The process to measure for `pid`: `pid` itself when it is a Node process (a partyline
 * server, or a program embedding one); else (npm, a shell) the partyline server among its
 * descendants (a few levels: npm → sh → node), or the only Node process there.
 */
export function resolveServerPid(pid: number): ServerPid {
  const argv = argvOf(pid)
  if (argv === undefined) return { error: `--pid ${pid}: no such process on this machine` }
  if (isNode(argv)) return { pid }
  let level = [pid]
  for (let depth = 0; depth < 4 && level.length > 0; depth++) {
    level = level.flatMap(childrenOf)
    const nodes = level.filter((p) => isNode(argvOf(p) ?? []))
    const servers = nodes.filter((p) => isPartylineServer(argvOf(p) ?? []))
    const pick = servers.length === 1 ? servers : nodes.length === 1 ? nodes : []
    if (pick.length === 1) return { pid: pick[0]!, followedFrom: pid }
    if (nodes.length > 1) return { error: `--pid ${pid} (${argv.join(' ')}) runs several Node processes (${nodes.join(', ')}): pass the server's own pid` }
  }
  return {
    error:
      `--pid ${pid} is not a Node process (it runs \`${argv.join(' ')}\`) and no partyline server runs under it: ` +
      `measuring it would read the wrong process. Pass the server's own pid: pgrep -f 'main.js serve'`,
  }
}
