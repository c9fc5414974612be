/**
 * What to do with a click log file at start, given what its scan found and the snapshot
 * the start would use. Pure: the file log carries the plan out, tests check it alone.
 *
 * The rules (the README's "When persistence fails" says them for operators):
 * - A snapshot is used only with the history it was taken from: the same log id (or a
 *   version 1 snapshot with a migrated version 1 log), or the parent log at exactly the
 *   position this file continues it from. Another log's snapshot is ignored when the file
 *   holds its whole history, and the start is refused when it does not.
 * - Positions up to the snapshot's ("covered") are proven by the snapshot; positions after
 *   it only by the file.
 * - A torn tail (damage with nothing intact after it) is cut, but never below the covered
 *   position: damage there is not a crash mid-write (the snapshot only ever holds clicks
 *   that were written and synced), so the file is kept aside and the log rewritten to start
 *   after the snapshot.
 * - Damage with intact records after it: if every position it holds is covered, the log is
 *   rewritten to start after the snapshot and the damaged file kept; otherwise the start is
 *   refused, naming the file, the byte and the positions, and nothing is changed.
 * - A snapshot ahead of the file (same history) holds clicks the file lost: the log is
 *   rewritten to start after it, so no position the snapshot has seen is used again.
 */
import type { LogHeader, LogScan } from './event-log-file-format.js'

/** The snapshot a start would use: the log it was taken from and its position. */
export interface SnapshotRef {
  /** `EventLog.id` of the log it was taken from; '' when written before logs had ids. */
  readonly logId: string
  readonly position: number
}

export interface RecoveryInput {
  readonly path: string
  readonly header: LogHeader
  /** The file is version 1: it is rewritten as version 2 whatever else happens. */
  readonly legacy: boolean
  readonly scan: LogScan
  readonly snapshot: SnapshotRef | undefined
  /** Why there is no snapshot to use, when one exists (unreadable, of another map). */
  readonly snapshotProblem?: string | undefined
  /** Where the file goes when it has damage worth keeping. */
  readonly asidePath: string
}

export interface RecoveryNote {
  readonly level: 'info' | 'warn' | 'error'
  readonly msg: string
}

export type RecoveryPlan =
  | { readonly kind: 'refuse'; readonly message: string }
  | {
      readonly kind: 'open'
      /** The snapshot is of this log's history: restore it, replay what follows it. */
      readonly useSnapshot: boolean
      /**
       * Rewrite the file with this base, keeping the intact records after it; `keepAside`:
       * the old file holds damage, so it is kept at `asidePath` first.
       */
      readonly rewrite: { readonly base: number; readonly keepAside: boolean } | undefined
      /** Truncate the file to this many bytes (a torn tail). */
      readonly cutAt: number | undefined
      readonly notes: readonly RecoveryNote[]
    }

export function planRecovery(input: RecoveryInput): RecoveryPlan {
  const { path, header, scan, snapshot } = input
  const notes: RecoveryNote[] = []
  const refuse = (what: string, wayOut: string): RecoveryPlan =>
    ({ kind: 'refuse', message: `${path} ${what}. Nothing was changed. ${wayOut}` })

  // 1. Which snapshot, if any, belongs to this file's history.
  let covered = header.base
  let useSnapshot = false
  if (snapshot !== undefined) {
    const own = snapshot.logId === header.id || (snapshot.logId === '' && header.legacy)
    const parent = header.parent !== undefined && snapshot.logId === header.parent && snapshot.position === header.base
    if (own || parent) {
      if (snapshot.position < header.base) {
        return refuse(
          `starts after position ${header.base}, but the snapshot is at ${snapshot.position}: clicks ${snapshot.position + 1}-${header.base} are in neither`,
          `Restore the snapshot taken at or after ${header.base}, or move ${path} aside to start from the snapshot at ${snapshot.position} (the clicks after it are lost).`,
        )
      }
      covered = snapshot.position
      useSnapshot = true
    } else if (header.base > 0) {
      return refuse(
        `(log ${header.id}) starts after position ${header.base}, and the snapshot is of another log (${describe(snapshot)}): nothing holds this log's clicks up to ${header.base}`,
        `Restore this log's snapshot, or move ${path} aside to start from the snapshot that is there.`,
      )
    } else {
      notes.push({ level: 'error', msg: `the snapshot (${describe(snapshot)}) is not of ${path} (log ${header.id}): ignored, the map is rebuilt from ${path} alone` })
    }
  } else if (header.base > 0) {
    return refuse(
      `starts after position ${header.base}, and no snapshot holds the clicks up to it (${input.snapshotProblem ?? 'there is none'})`,
      `Restore the snapshot, or move ${path} aside to start from an empty map.`,
    )
  }
  const wayOut = `Restore ${path} from a backup, or move it aside to start from ${useSnapshot ? `the snapshot at ${covered} (the clicks after it are lost)` : 'an empty map (every click is lost)'}.`
  const snapshotSays = useSnapshot ? `the snapshot at ${covered}` : 'no snapshot'

  // 2. Damage with intact records after it: repaired only when the snapshot covers it.
  let repaired: string | undefined
  let tail: (typeof scan.damage)[number] | undefined
  for (const d of scan.damage) {
    if (d.tail) {
      tail = d
      continue
    }
    if (d.next === undefined) {
      return refuse(
        `is damaged at byte ${d.start} (the record after position ${d.after}) and intact records follow; the file predates record positions, so they cannot be placed`,
        wayOut,
      )
    }
    if (d.next - 1 > covered) {
      const lost = d.next - 1 > d.after
        ? `${span(d.after + 1, d.next - 1)} cannot be read`
        : `bytes that are not records sit between positions ${d.after} and ${d.next}`
      return refuse(
        `is damaged at byte ${d.start}: ${lost}, intact records follow up to position ${scan.head}, and ${snapshotSays} does not cover it`,
        wayOut,
      )
    }
    repaired ??= `${path} is damaged at byte ${d.start} (${span(d.after + 1, d.next - 1)})`
  }

  // 3. The end of the file, and a snapshot ahead of it.
  const head = scan.head
  const tailBelow = tail !== undefined && tail.after < covered
  if (repaired !== undefined) {
    notes.push({ level: 'error', msg: `${repaired}; the snapshot at ${covered} holds everything up to ${covered}: the log now starts after it with the ${head - covered} intact clicks that follow; the damaged file is kept as ${input.asidePath}` })
  }
  if (tailBelow) {
    notes.push({ level: 'error', msg: `${path} is damaged from byte ${tail!.start} to its end (position ${tail!.after + 1} on); the snapshot at ${covered} holds the clicks up to ${covered}: the log continues at ${covered + 1}; the damaged file is kept as ${input.asidePath}` })
  } else if (covered > head) {
    notes.push({ level: 'error', msg: `the snapshot at ${covered} is ahead of ${path}, whose last click is at ${head}: clicks ${head + 1}-${covered} are only in the snapshot; the log continues at ${covered + 1}` })
  }
  if (tail !== undefined && !tailBelow) {
    notes.push({ level: 'warn', msg: `cut a torn tail off ${path}: ${tail.end - tail.start} bytes from byte ${tail.start}, after position ${tail.after}, as a crash mid-write leaves` })
  }
  const rebase = repaired !== undefined || covered > head
  if (input.legacy) {
    notes.push({ level: 'info', msg: `migrated ${path} from version 1 (no header): ${Math.max(0, head - (rebase ? covered : 0))} clicks kept, now log ${header.id}` })
  }
  if (rebase || input.legacy) {
    return {
      kind: 'open', useSnapshot, cutAt: undefined, notes,
      rewrite: { base: rebase ? covered : header.base, keepAside: repaired !== undefined || tailBelow },
    }
  }
  return { kind: 'open', useSnapshot, rewrite: undefined, cutAt: tail?.start, notes }
}

function describe(s: SnapshotRef): string {
  return `${s.logId === '' ? 'written before logs had ids' : `log ${s.logId}`}, position ${s.position}`
}

function span(first: number, last: number): string {
  return first === last ? `the click at position ${first}` : `clicks ${first}-${last}`
}
