/**
 * Readiness: whether each part this node depends on works right now, for `GET /readyz`
 * and the `partyline_ready` metric.
 *
 * `/healthz` says the process is alive; `/readyz` says it can do its whole job. A part
 * that fails (the click log after a write error, later Redis or NATS) marks itself
 * failing with a reason and ok again when it recovers; the node keeps serving whatever
 * still works, and a load balancer that routes on `/readyz` sends new traffic elsewhere.
 *
 * Contract: a component is named once (`component(name)`), starts ok, and its reason is a
 * short sentence for operators (never a secret, a payload or a token).
 */
export interface ReadinessComponent {
  readonly name: string
  ok(): void
  failing(reason: string): void
  /** The reason it fails now; undefined while ok. */
  readonly problem: string | undefined
}

/** The body of `/readyz`: `status`, then one key per component, `"ok"` or its reason. */
export type ReadinessReport = { status: 'ready' | 'degraded' | 'shutting down' } & Record<string, string>

export class Readiness {
  readonly #problems = new Map<string, string | undefined>()
  #stopping = false

  /** Register a part (starts ok). Names are short identifiers: `clickplanet_log`, `redis`. */
  component(name: string): ReadinessComponent {
    if (this.#problems.has(name)) throw new Error(`readiness component ${name} exists already`)
    if (name === 'status') throw new Error('"status" is not a component name')
    const problems = this.#problems
    problems.set(name, undefined)
    return {
      name,
      ok: () => problems.set(name, undefined),
      failing: (reason) => problems.set(name, reason),
      get problem() {
        return problems.get(name)
      },
    }
  }

  /** The node is stopping: not ready, whatever its parts say. */
  stopping(): void {
    this.#stopping = true
  }

  get ready(): boolean {
    if (this.#stopping) return false
    for (const p of this.#problems.values()) if (p !== undefined) return false
    return true
  }

  report(): ReadinessReport {
    const out: Record<string, string> = {}
    let degraded = false
    for (const [name, problem] of this.#problems) {
      out[name] = problem ?? 'ok'
      if (problem !== undefined) degraded = true
    }
    const status = this.#stopping ? 'shutting down' : degraded ? 'degraded' : 'ready'
    return { status, ...out } as ReadinessReport
  }

  /** Each component and whether it is ok (1) or failing (0), for the metric. */
  *components(): IterableIterator<readonly [string, boolean]> {
    for (const [name, problem] of this.#problems) yield [name, problem === undefined] as const
  }
}
