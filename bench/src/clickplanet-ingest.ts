/**
 * HTTP click ingest through JetStream on one node, side by side in one run
 * (`npm run bench:clickplanet-ingest`): a real nats-server and redis-server on 127.0.0.1,
 * a node of this build and, with `CP_BENCH_BASELINE=<dir>` (a `git archive` of an earlier
 * commit, `node_modules` and `assets` linked in), one of that build, on the same NATS;
 * 64 keep-alive clients post clicks to each in turn for 3 s, `CP_BENCH_ROUNDS` rounds
 * (default 4, the first a warm-up); medians of the others.
 */
import { spawn } from 'node:child_process'
import { Agent } from 'node:http'
import { postClick } from './click-load.js'
import { NatsServer } from '../../src/launchers/nats-server.js'
import { RedisServer } from '../../src/launchers/redis-server.js'
const nats = await NatsServer.start({ jetstream: true })
const redis = await RedisServer.start()
try {
  const start = async (dir: string | undefined, id: string) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/src/clickplanet-serve.ts', ...(dir ? [dir] : [])], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, NATS_URL: nats.url, REDIS_URL: redis.url, PARTYLINE_NODE_ID: id } })
    const port = await new Promise<number>((resolve, reject) => { child.once('exit', (c) => reject(new Error(`node exited ${c}`))); let out = ''; child.stdout!.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('\n')) resolve(Number(out.trim())) }) })
    return { child, port }
  }
  const baseline = process.env['CP_BENCH_BASELINE']
  const nodes: Array<[string, { child: ReturnType<typeof spawn>; port: number }]> = [['this build', await start(undefined, 'this')]]
  if (baseline !== undefined) nodes.push([`baseline (${baseline})`, await start(baseline, 'base')])
  const rates = new Map<string, number[]>()
  const agent = new Agent({ keepAlive: true, maxSockets: 64 })
  const post = (port: number, tile: number): Promise<number> => postClick(agent, port, tile)
  for (let round = 0; round < Number(process.env['CP_BENCH_ROUNDS'] ?? 4); round++) {
    for (const [name, { port }] of nodes) {
      let done = 0, failed = 0
      const t0 = performance.now(); const end = t0 + 3000
      await Promise.all(Array.from({ length: 64 }, async (_, c) => { for (let i = c; performance.now() < end; i += 64) { if ((await post(port, i % 100000)) === 200) done++; else failed++ } }))
      const rate = done / ((performance.now() - t0) / 1000)
      console.error(`  (round ${round}: ${name} ${rate.toFixed(0)} clicks/s, ${failed} refused)`)
      if (round > 0) rates.set(name, [...(rates.get(name) ?? []), rate])
    }
  }
  agent.destroy()
  const median = (xs: number[]): number => { const v = [...xs].sort((a, b) => a - b); return v[Math.floor(v.length / 2)] ?? NaN }
  const mine = median(rates.get('this build') ?? [])
  console.log('| HTTP click ingest through JetStream, 64 keep-alive clients, one node (clicks/s) | median | rounds | this build ÷ it |')
  console.log('| --- | --- | --- | --- |')
  for (const [name, xs] of rates) console.log(`| ${name} | ${median(xs).toFixed(0)} | ${xs.map((x) => x.toFixed(0)).join(', ')} | ${(mine / median(xs)).toFixed(2)} |`)
  await Promise.all(nodes.map(([, { child }]) => new Promise<void>((resolve) => { child.once('exit', () => resolve()); child.kill('SIGTERM') })))
} finally { await Promise.allSettled([nats.stop(), redis.stop()]) }
