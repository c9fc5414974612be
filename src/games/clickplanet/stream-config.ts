/**
 * How an existing clicks stream differs from the one this node would create. A node uses
 * the stream as it finds it (the first node made it; an operator may have edited it with
 * `nats stream edit`), so a difference is logged rather than fixed: each names what it
 * costs and the setting or stream field to change.
 */
import { nanos, RetentionPolicy, StorageType, type StreamConfig } from 'nats'

export interface WantedStream {
  /** The subject the node publishes under: `<subjects>.tile.>`. */
  readonly subject: string
  readonly replicas: number
  readonly duplicateWindowMs: number
}

/** One sentence per difference that matters; empty when the stream is as this node wants. */
export function streamDifferences(config: Partial<StreamConfig>, wanted: WantedStream): string[] {
  const out: string[] = []
  const subjects = config.subjects ?? []
  if (!subjects.includes(wanted.subject) && !subjects.includes('>')) {
    out.push(`its subjects (${subjects.join(', ') || 'none'}) do not include ${wanted.subject}: every click is refused (503); PARTYLINE_CLICKS_STREAM names another stream`)
  }
  if (config.storage !== undefined && config.storage !== StorageType.File) {
    out.push('it keeps clicks in memory, not on disk: if every NATS server restarts, acknowledged clicks after the last snapshot are lost')
  }
  if (config.num_replicas !== undefined && config.num_replicas < wanted.replicas) {
    out.push(`it has ${config.num_replicas} replica(s), PARTYLINE_CLICKS_REPLICAS asks for ${wanted.replicas}`)
  }
  const window = nanos(wanted.duplicateWindowMs)
  if (config.duplicate_window !== undefined && config.duplicate_window !== window) {
    const ms = Math.round(config.duplicate_window / 1e6)
    out.push(`it remembers click ids for ${ms} ms, PARTYLINE_CLICKS_DUPLICATE_WINDOW_MS is ${wanted.duplicateWindowMs} ms` +
      (ms < wanted.duplicateWindowMs ? ': a publish retried later than that is stored twice' : ''))
  }
  const limits = [
    config.max_age ? `max_age ${Math.round(config.max_age / 1e9)} s` : '',
    config.max_msgs !== undefined && config.max_msgs > 0 ? `max_msgs ${config.max_msgs}` : '',
    config.max_bytes !== undefined && config.max_bytes > 0 ? `max_bytes ${config.max_bytes}` : '',
    config.retention !== undefined && config.retention !== RetentionPolicy.Limits ? `retention ${config.retention}` : '',
  ].filter((s) => s !== '')
  if (limits.length > 0) {
    out.push(`it discards clicks by itself (${limits.join(', ')}): a node whose snapshot is older than what is left cannot catch up, and partyline trims the stream itself`)
  }
  return out
}
