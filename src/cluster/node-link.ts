/**
 * This node's line to the other nodes: its inbox on the Bus (`node.<id>`), and one outbox
 * per node it talks to. Ops queued for a node during one turn of the event loop (every
 * socket read in one poll phase) leave as one envelope right after it (`setImmediate`), in
 * the order they were queued: one
 * publisher, one subject, so the Bus keeps their order, and a connection's frames stay in
 * order across nodes. Consecutive sends of the same frame to connections on one node become
 * one op (the frame once, the connection ids listed).
 */
import type { Bus, Subscription } from '../bus/bus.js'
import { Op, decodeEnvelope, encodeBuilt, inbox, dataSize, ENVELOPE_SOFT_LIMIT, type Envelope, type WireOp } from './wire.js'

interface Outbox {
  /** The inbox subject of the node it goes to. */
  readonly subject: string
  /** This node's id, then the ops queued: encoded as it is. */
  envelope: Envelope
  bytes: number
  /** The last op if it is a Send, so the next send of the same frame joins it. */
  lastSend: [typeof Op.Send, number[], Uint8Array | string] | undefined
}

/** Inbox subjects remembered (one per node talked to). */
const SUBJECTS_KEPT = 256

export class NodeLink {
  readonly node: string
  readonly #bus: Bus
  readonly #outboxes = new Map<string, Outbox>()
  readonly #subjects = new Map<string, string>()
  readonly #sub: Subscription
  #scheduled = false
  readonly #flushTurn = (): void => this.flush()

  constructor(bus: Bus, node: string, onOps: (from: string, ops: WireOp[]) => void) {
    this.#bus = bus
    this.node = node
    this.#sub = bus.subscribe(inbox(node), (bytes) => {
      const envelope = decodeEnvelope(bytes)
      if (envelope) onOps(envelope.from, envelope.ops)
    })
  }

  /** Queue `op` for `node` (sent at the end of this turn). */
  send(node: string, op: WireOp, size = 16): void {
    const box = this.#box(node)
    box.envelope.push(op)
    box.lastSend = undefined
    this.#grew(box, size)
  }

  /** Queue a frame for connection `cid` on `node`, joined to the previous send of the same frame. */
  sendFrame(node: string, cid: number, data: Uint8Array | string): void {
    const box = this.#box(node)
    const last = box.lastSend
    if (last !== undefined && last[2] === data) {
      last[1].push(cid)
      this.#grew(box, 4)
      return
    }
    const op: [typeof Op.Send, number[], Uint8Array | string] = [Op.Send, [cid], data]
    box.envelope.push(op)
    box.lastSend = op
    this.#grew(box, dataSize(data) + 8)
  }

  /** Send every outbox now. */
  flush(): void {
    this.#scheduled = false
    for (const box of this.#outboxes.values()) this.#publish(box)
    this.#outboxes.clear()
  }

  close(): void {
    this.flush()
    this.#sub.unsubscribe()
  }

  #box(node: string): Outbox {
    let box = this.#outboxes.get(node)
    if (!box) {
      box = { subject: this.#subject(node), envelope: [this.node], bytes: 0, lastSend: undefined }
      this.#outboxes.set(node, box)
    }
    if (!this.#scheduled) {
      this.#scheduled = true
      setImmediate(this.#flushTurn)
    }
    return box
  }

  /** The inbox subject of `node`, built once per node rather than once per envelope. */
  #subject(node: string): string {
    let subject = this.#subjects.get(node)
    if (subject === undefined) {
      // Bounded: nodes come and go (a restart may take a new id); a rebuild is cheap.
      if (this.#subjects.size >= SUBJECTS_KEPT) this.#subjects.clear()
      subject = inbox(node)
      this.#subjects.set(node, subject)
    }
    return subject
  }

  #grew(box: Outbox, size: number): void {
    box.bytes += size
    // A big turn goes out in several envelopes (the Bus has a message size limit), still in order.
    if (box.bytes >= ENVELOPE_SOFT_LIMIT) {
      this.#publish(box)
      box.envelope = [this.node]
      box.bytes = 0
      box.lastSend = undefined
    }
  }

  #publish(box: Outbox): void {
    if (box.envelope.length === 1) return
    this.#bus.publish(box.subject, encodeBuilt(box.envelope))
  }
}
