/**
 * deploy/ and the Dockerfile are not run here (no Docker, no Kubernetes): these tests parse
 * every file, check the structure the deployment relies on, check that every setting the
 * files set exists in src/config.ts and loads, and run what can run on this machine: a real
 * nats-server tests both NATS configs, a real redis-server loads the Redis config.
 */
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { parse, parseAllDocuments } from 'yaml'
import { loadSettings, settings } from '../../src/config.js'
import { ask, freePort, MissingBinaryError, removeDir, ServerProcess } from '../../src/launchers/spawned-server.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const deploy = join(root, 'deploy')
const read = (path: string): string => readFileSync(join(root, path), 'utf8')

/** Compose files use YAML merge keys (`<<: *anchor`), as Docker Compose reads them. */
const yamlOptions = { merge: true } as const
const loadYaml = (path: string): Record<string, unknown> => parse(read(path), yamlOptions) as Record<string, unknown>
/** Parsed YAML: its shape is what the assertions check. */
type Obj = Record<string, any>

/** Every Kubernetes object in deploy/k8s, by `Kind/name`. */
function k8sObjects(): Map<string, Obj> {
  const out = new Map<string, Obj>()
  for (const file of readdirSync(join(deploy, 'k8s')).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')) {
    for (const doc of parseAllDocuments(read(`deploy/k8s/${file}`), yamlOptions)) {
      const o = doc.toJS() as Obj | null
      if (o !== null) out.set(`${o.kind}/${o.metadata.name}`, { ...o, file })
    }
  }
  return out
}

const settingNames = new Set(Object.values(settings).map((s) => s.env))
const isPartylineVariable = (name: string): boolean => /^PARTYLINE_/.test(name) || ['REDIS_URL', 'NATS_URL', 'PORT', 'HOST'].includes(name)

/** `KEY: value` maps and `KEY=value` lists, as Compose takes `environment`. */
function composeEnv(service: Obj): Record<string, string> {
  const env = service.environment ?? {}
  if (Array.isArray(env)) return Object.fromEntries(env.map((e: string) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]))
  return Object.fromEntries(Object.entries(env as Record<string, unknown>).map(([k, v]) => [k, String(v)]))
}

/** A container's `env` as values; a `fieldRef` to the pod's name becomes `podName`. */
function containerEnv(container: Obj, podName: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const e of container.env ?? []) {
    if (e.value !== undefined) out[e.name] = String(e.value)
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') out[e.name] = podName
    else throw new Error(`env ${e.name}: only values and the pod's name are understood here`)
  }
  return out
}

/** HAProxy config sections: `backend partyline` → its lines, comments dropped. */
function haproxySections(text: string): Map<string, string[]> {
  const sections = new Map<string, string[]>()
  let current: string[] | undefined
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trimEnd()
    if (line.trim() === '') continue
    if (!/^\s/.test(line)) sections.set(line.trim(), (current = []))
    else current?.push(line.trim())
  }
  return sections
}

/** Hosts of a comma-separated URL list (`NATS_URL`) or one URL. */
const hostsOf = (urls: string): string[] => urls.split(',').map((u) => `${new URL(u.trim()).hostname}:${new URL(u.trim()).port}`)

/** The `jetstream { … }` and `cluster { … }` facts a NATS config must hold. */
function natsFacts(conf: string): { syncAlways: boolean; storeDir: string | undefined; routes: string[]; serverName: string | undefined } {
  const code = conf.replace(/#.*$/gm, '')
  const jetstream = /jetstream\s*\{([^}]*)\}/.exec(code)?.[1] ?? ''
  const cluster = /cluster\s*\{([\s\S]*?)\n\}/m.exec(code)?.[1] ?? /cluster\s*\{([\s\S]*)\}/.exec(code)?.[1] ?? ''
  return {
    syncAlways: /^\s*sync_interval\s*:\s*always\s*$/m.test(jetstream),
    storeDir: /store_dir\s*:\s*(\S+)/.exec(jetstream)?.[1],
    routes: [...cluster.matchAll(/nats-route:\/\/([^\s,\]]+)/g)].map((m) => m[1]!),
    serverName: /^\s*server_name\s*:\s*(\S+)/m.exec(code)?.[1],
  }
}

/** `key value` lines of a Redis config. */
const redisConf = (text: string): Map<string, string> =>
  new Map(text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#')).map((l) => [l.split(/\s+/)[0]!, l.slice(l.indexOf(' ') + 1).trim()]))

const compose = loadYaml('deploy/compose.yaml') as Obj
const services = compose.services as Record<string, Obj>
const partylineServices = Object.entries(services).filter(([, s]) => s.build !== undefined)
const natsServices = Object.entries(services).filter(([, s]) => String(s.image).startsWith('nats:'))

t.test('deploy - every YAML file under deploy/ parses without errors or warnings', async (t) => {
  const files: string[] = []
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name))
      else if (/\.ya?ml$/.test(e.name)) files.push(relative(root, join(dir, e.name)))
    }
  }
  walk(deploy)
  t.ok(files.length >= 6, `found ${files.join(', ')}`)
  for (const file of files) {
    const docs = parseAllDocuments(read(file), yamlOptions)
    t.same(docs.flatMap((d) => [...d.errors, ...d.warnings].map((e) => e.message)), [], file)
  }
})

t.test('deploy/compose.yaml - 3 NATS servers with JetStream fsyncing every write, Redis with AOF every second, 3 partyline nodes from the Dockerfile, a balancer checking /readyz', async (t) => {
  // NATS: three members of one cluster, each named, routes to all three, JetStream on disk.
  t.equal(natsServices.length, 3, 'three NATS servers')
  const natsConf = natsFacts(read('deploy/nats/nats.conf'))
  t.ok(natsConf.syncAlways, 'jetstream { sync_interval: always }')
  t.equal(natsConf.storeDir, '/data/jetstream', 'a file store on the volume')
  t.same(natsConf.routes.sort(), natsServices.map(([name]) => `${name}:6222`).sort(), 'routes to every member')
  t.equal(natsConf.serverName, '$NATS_SERVER_NAME')
  t.same(new Set(natsServices.map(([, s]) => composeEnv(s).NATS_SERVER_NAME)).size, 3, 'distinct server names')
  for (const [name, s] of natsServices) {
    t.ok(s.volumes.includes('./nats/nats.conf:/etc/nats/nats.conf:ro'), `${name} mounts nats.conf`)
    t.ok(s.volumes.some((v: string) => v.endsWith(':/data')), `${name} keeps /data on a volume`)
  }

  // Redis: the mounted config keeps an append-only file fsynced every second.
  const redis = services.redis!
  t.ok(redis.volumes.includes('./redis/redis.conf:/usr/local/etc/redis/redis.conf:ro'))
  t.same(redis.command, ['redis-server', '/usr/local/etc/redis/redis.conf'])
  const conf = redisConf(read('deploy/redis/redis.conf'))
  t.equal(conf.get('appendonly'), 'yes')
  t.equal(conf.get('appendfsync'), 'everysec')
  t.equal(conf.get('maxmemory-policy'), 'noeviction')

  // partyline: three nodes, one image built from the repository's Dockerfile, distinct ids.
  t.equal(partylineServices.length, 3, 'three partyline nodes')
  const images = new Set<string>()
  const ids = new Set<string>()
  for (const [name, s] of partylineServices) {
    t.equal(resolve(deploy, s.build.context), resolve(root), `${name} builds the repository`)
    t.ok(existsSync(join(resolve(deploy, s.build.context), s.build.dockerfile)), `${name}: ${s.build.dockerfile} exists`)
    images.add(s.image)
    const env = composeEnv(s)
    ids.add(env.PARTYLINE_NODE_ID!)
    t.same(hostsOf(env.REDIS_URL!), ['redis:6379'], `${name} uses the Redis service`)
    t.same(hostsOf(env.NATS_URL!).sort(), natsServices.map(([n]) => `${n}:4222`).sort(), `${name} lists every NATS server`)
    const shutdownMs = Number(env.PARTYLINE_SHUTDOWN_MS ?? settings.shutdownMs.default)
    t.ok(seconds(s.stop_grace_period) * 1000 > shutdownMs + 1000, `${name}: stop_grace_period ${s.stop_grace_period} is above PARTYLINE_SHUTDOWN_MS + 1 s`)
  }
  t.equal(images.size, 1, 'the same image for every node')
  t.equal(ids.size, 3, 'a distinct PARTYLINE_NODE_ID per node')

  // The balancer: HAProxy health-checks /readyz on every node, any node for any connection.
  const lb = services.lb!
  t.ok(lb.volumes.includes('./haproxy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro'))
  const haproxy = haproxySections(read('deploy/haproxy/haproxy.cfg'))
  const backend = haproxy.get('backend partyline') ?? []
  t.ok(backend.includes('option httpchk'), 'HTTP health checks')
  t.ok(backend.some((l) => /^http-check send meth GET uri \/readyz\b/.test(l)), 'on GET /readyz')
  t.ok(backend.includes('http-check expect status 200'))
  const checked = backend.filter((l) => /^server \S+ \S+ .*\bcheck\b/.test(l) && !/\bbackup\b/.test(l)).map((l) => l.split(/\s+/)[2])
  t.same(checked.sort(), partylineServices.map(([n, s]) => `${n}:${composeEnv(s).PORT}`).sort(), 'every node is checked, on its PORT')
  t.notOk(backend.some((l) => /^(cookie|stick|balance source|hash-type)\b/.test(l)), 'no sticky sessions')
  t.ok((haproxy.get('defaults') ?? []).some((l) => /^timeout tunnel \d+/.test(l)), 'a tunnel timeout for upgraded WebSockets')
  t.ok((haproxy.get('frontend partyline') ?? []).includes('option forwardfor'), 'X-Forwarded-For for PARTYLINE_TRUST_PROXY')
  for (const [name, s] of partylineServices) t.equal(composeEnv(s).PARTYLINE_TRUST_PROXY, 'true', `${name} trusts the balancer's X-Forwarded-For`)

  // Every file a service mounts from the host exists.
  for (const [name, s] of Object.entries(services)) {
    for (const v of (s.volumes ?? []) as string[]) {
      if (!v.startsWith('./')) continue
      t.ok(existsSync(resolve(deploy, v.split(':')[0]!)), `${name} mounts ${v.split(':')[0]} which exists`)
    }
  }
})

t.test('deploy/k8s - Deployment of 3 with /readyz and /healthz probes and a grace period above the hand-over; Service, PDB; NATS and Redis as StatefulSets', async (t) => {
  const objects = k8sObjects()
  const kustomization = loadYaml('deploy/k8s/kustomization.yaml') as Obj
  t.same([...kustomization.resources].sort(), [...new Set([...objects.values()].map((o) => o.file))].sort(), 'kustomization.yaml lists every manifest')

  const deployment = objects.get('Deployment/partyline')!
  t.equal(deployment.spec.replicas, 3)
  t.equal(deployment.spec.strategy.rollingUpdate.maxUnavailable, 0, 'a rolling update keeps every node serving')
  const pod = deployment.spec.template
  t.same(deployment.spec.selector.matchLabels, pod.metadata.labels)
  const container = pod.spec.containers.find((c: Obj) => c.name === 'partyline')
  const port = container.ports.find((p: Obj) => p.name === 'http')
  t.same(container.readinessProbe.httpGet, { path: '/readyz', port: 'http' }, 'readiness on /readyz')
  t.same(container.livenessProbe.httpGet, { path: '/healthz', port: 'http' }, 'liveness on /healthz')
  const env = containerEnv(container, 'partyline-7d9f8c6b5-x2x9k')
  t.equal(env.PARTYLINE_NODE_ID, 'partyline-7d9f8c6b5-x2x9k', "each pod's node id is its name")
  t.equal(Number(env.PORT), port.containerPort, 'PORT is the container port')
  const preStopSeconds = Number(container.lifecycle.preStop.exec.command[1])
  t.same(container.lifecycle.preStop.exec.command, ['sleep', String(preStopSeconds)])
  const shutdownMs = Number(env.PARTYLINE_SHUTDOWN_MS ?? settings.shutdownMs.default)
  const grace = pod.spec.terminationGracePeriodSeconds as number
  t.ok(grace * 1000 > preStopSeconds * 1000 + shutdownMs + 1000, `terminationGracePeriodSeconds ${grace} > preStop ${preStopSeconds} s + PARTYLINE_SHUTDOWN_MS ${shutdownMs} ms + 1 s`)

  const service = objects.get('Service/partyline')!
  t.same(service.spec.selector, pod.metadata.labels, 'the Service selects the pods')
  t.equal(service.spec.sessionAffinity, 'None', 'no sticky sessions')
  t.equal(service.spec.ports[0].targetPort, 'http')
  const pdb = objects.get('PodDisruptionBudget/partyline')!
  t.same(pdb.spec.selector.matchLabels, pod.metadata.labels)
  t.equal(pdb.spec.maxUnavailable, 1, 'one node at a time')

  // NATS: 3 servers, routes to each by its stable name, JetStream fsyncing every write.
  const nats = objects.get('StatefulSet/nats')!
  t.equal(nats.spec.replicas, 3)
  const headless = objects.get(`Service/${nats.spec.serviceName}`)!
  t.equal(headless.spec.clusterIP, 'None', 'a headless service names each server')
  const natsConf = natsFacts(objects.get('ConfigMap/nats-config')!.data['nats.conf'])
  t.ok(natsConf.syncAlways, 'jetstream { sync_interval: always }')
  const members = [0, 1, 2].map((i) => `nats-${i}.${nats.spec.serviceName}`)
  t.same(natsConf.routes.sort(), members.map((m) => `${m}:6222`), 'routes to every server')
  t.same(hostsOf(env.NATS_URL!).sort(), members.map((m) => `${m}:4222`), 'NATS_URL lists every server')
  t.ok(nats.spec.volumeClaimTemplates.length > 0, 'JetStream on a persistent volume')
  t.ok(objects.has('PodDisruptionBudget/nats'))

  // Redis: one primary with the same config as compose (AOF, fsync every second).
  const redis = objects.get('StatefulSet/redis')!
  t.equal(redis.spec.replicas, 1)
  t.equal(objects.get('ConfigMap/redis-config')!.data['redis.conf'], read('deploy/redis/redis.conf'), 'the same redis.conf as compose')
  t.same(hostsOf(env.REDIS_URL!), [`${objects.get('Service/redis')!.metadata.name}:6379`], 'REDIS_URL names the Redis service')
  t.ok(redis.spec.volumeClaimTemplates.length > 0, 'the append-only file on a persistent volume')
})

t.test('deploy - every PARTYLINE_*, REDIS_URL, NATS_URL, PORT and HOST the files set is a setting, and each node loads its settings', async (t) => {
  const set: Array<[string, string]> = []
  for (const [name, s] of Object.entries(services)) for (const key of Object.keys(composeEnv(s))) set.push([`compose ${name}`, key])
  for (const o of k8sObjects().values()) {
    for (const c of (o.spec?.template?.spec?.containers ?? []) as Obj[]) for (const e of c.env ?? []) set.push([`k8s ${o.kind}/${o.metadata.name}`, e.name])
  }
  for (const m of read('Dockerfile').matchAll(/^ENV\s+(.+)$/gm)) for (const pair of m[1]!.split(/\s+/)) set.push(['Dockerfile', pair.split('=')[0]!])
  const ours = set.filter(([, key]) => isPartylineVariable(key))
  t.ok(ours.length >= 20, `${ours.length} partyline variables set`)
  for (const [where, key] of ours) t.ok(settingNames.has(key), `${where}: ${key} is in the settings table`)

  // The values parse as every node would parse them (URLs, numbers, booleans).
  const nodes: Array<[string, Record<string, string>]> = [
    ...partylineServices.map(([name, s]): [string, Record<string, string>] => [`compose ${name}`, composeEnv(s)]),
    ['k8s Deployment/partyline', containerEnv(k8sObjects().get('Deployment/partyline')!.spec.template.spec.containers[0], 'partyline-7d9f8c6b5-x2x9k')],
  ]
  for (const [where, env] of nodes) {
    t.doesNotThrow(() => loadSettings(env, []), `${where}: its settings load`)
    t.not(loadSettings(env, []).natsUrl, '', `${where}: a cluster node (NATS and Redis)`)
  }
})

/** Runs `command args` to the end; rejects with MissingBinaryError when it is not installed. */
async function runToEnd(command: string, args: readonly string[], env: NodeJS.ProcessEnv, packageName: string): Promise<{ code: number | null; output: string }> {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr.on('data', (d: Buffer) => (output += d.toString()))
  return new Promise((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT' ? new MissingBinaryError(command, packageName) : err))
    child.once('close', (code) => resolve({ code, output }))
  })
}

t.test('deploy - nats-server accepts both NATS configs (nats-server -t)', async (t) => {
  const version = (await runToEnd('nats-server', ['--version'], process.env, 'nats-server')).output
  const [major, minor] = (/v(\d+)\.(\d+)/.exec(version) ?? []).slice(1).map(Number)
  // sync_interval came with nats-server 2.10; Debian's build may be older: test the rest with it.
  const knowsSyncInterval = major! > 2 || (major === 2 && minor! >= 10)
  const dir = await mkdtemp(join(tmpdir(), 'nats-conf-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const configs: Array<[string, string, NodeJS.ProcessEnv]> = [
    ['deploy/nats/nats.conf', read('deploy/nats/nats.conf'), { NATS_SERVER_NAME: 'nats-1' }],
    ['deploy/k8s/nats.yaml', k8sObjects().get('ConfigMap/nats-config')!.data['nats.conf'], { POD_NAME: 'nats-0' }],
  ]
  for (const [where, text, env] of configs) {
    const file = join(dir, 'nats.conf')
    await writeFile(file, knowsSyncInterval ? text : text.replace(/^\s*sync_interval\s*:.*$/m, ''))
    const { code, output } = await runToEnd('nats-server', ['-c', file, '-t'], { ...process.env, ...env }, 'nats-server')
    t.equal(code, 0, `${where} is valid for nats-server ${version.trim()}${knowsSyncInterval ? '' : ' (without sync_interval, which it predates)'}: ${output.trim()}`)
  }
})

t.test('deploy - a real redis-server loads deploy/redis/redis.conf: AOF on, fsync every second, no eviction', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'redis-conf-'))
  t.teardown(() => removeDir(dir))
  const port = await freePort()
  // The file as deployed; only where it listens and writes is moved here (Redis enters `dir` as it reads the file).
  const moved = { port: String(port), bind: '127.0.0.1', dir }
  const text = read('deploy/redis/redis.conf').replace(/^(port|bind|dir) .*$/gm, (_, key: keyof typeof moved) => `${key} ${moved[key]}`)
  t.equal(text.split('\n').length, read('deploy/redis/redis.conf').split('\n').length)
  await writeFile(join(dir, 'redis.conf'), text)
  const redis = await ServerProcess.spawn('redis-server', [join(dir, 'redis.conf')], 'redis-server', dir)
  t.teardown(() => redis.stop())
  await redis.waitReady(async () => (await ask(port, 'PING\r\n')).startsWith('+PONG'), 'redis-server with deploy/redis/redis.conf')
  const get = async (key: string): Promise<string> => (await ask(port, `CONFIG GET ${key}\r\n`)).split('\r\n')[4] ?? ''
  t.equal(await get('appendonly'), 'yes')
  t.equal(await get('appendfsync'), 'everysec')
  t.equal(await get('maxmemory-policy'), 'noeviction')
  t.equal(await get('save'), '', 'no separate RDB saves')
})

t.test('Dockerfile - copies what the build and the running server need; .dockerignore keeps none of it out', async (t) => {
  const dockerfile = read('Dockerfile')
  const stages = dockerfile.split(/^FROM /m).slice(1)
  t.equal(stages.length, 2, 'a build stage and a runtime stage')
  const [build, runtime] = stages as [string, string]
  const copied = (stage: string): string[] =>
    [...stage.matchAll(/^COPY\s+(?!--from)(.+)$/gm)].flatMap((m) => m[1]!.trim().split(/\s+/).slice(0, -1))
  const before = (stage: string, what: RegExp, run: RegExp): boolean => stage.search(what) !== -1 && stage.search(what) < stage.search(run)

  // Build: dependencies from the lock file, then every tree tsconfig.build.json compiles.
  t.ok(before(build, /^COPY package\.json package-lock\.json/m, /^RUN npm ci/m), 'package.json and the lock file before npm ci')
  const tsconfig = JSON.parse(read('tsconfig.build.json')) as { include: string[]; extends?: string }
  // `npm run build` runs `tsc -p tsconfig.build.json`, then the pages' and SDK's build.
  const compileRun = /^RUN (?:npx tsc -p tsconfig\.build\.json|npm run build)\b/m
  t.ok(build.search(compileRun) !== -1, 'compiles with tsconfig.build.json')
  t.match(JSON.parse(read('package.json')).scripts.build, /^tsc -p tsconfig\.build\.json\b/, '`npm run build` is that compile first')
  for (const file of ['tsconfig.build.json', tsconfig.extends!.replace(/^\.\//, '')]) t.ok(copied(build).includes(file), `copies ${file}`)
  for (const glob of tsconfig.include) {
    const top = glob.split('/')[0]!
    t.ok(copied(build).includes(top) && before(build, new RegExp(`^COPY ${top} `, 'm'), compileRun), `copies ${top}/ (compiled: ${glob}) before compiling`)
  }

  // Runtime: the compiled code, production modules, package.json (ESM), and every file the
  // server reads from the package at run time (packageFile('…') in src/).
  for (const from of ['/app/node_modules', '/app/dist', '/app/package.json']) t.match(runtime, new RegExp(`^COPY --from=build ${from} `, 'm'), `runtime has ${from}`)
  const packageFiles = new Set<string>()
  const scan = (dir: string): void => {
    for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
      if (e.isDirectory()) scan(join(dir, e.name))
      else if (e.name.endsWith('.ts')) for (const m of read(join(dir, e.name)).matchAll(/packageFile\('([^']+)'\)/g)) packageFiles.add(m[1]!)
    }
  }
  scan('src')
  t.ok(packageFiles.size >= 2, `files read at run time: ${[...packageFiles].join(', ')}`)
  for (const file of packageFiles) {
    t.ok(existsSync(join(root, file)), `${file} exists`)
    t.ok(copied(runtime).includes(dirname(file)), `the runtime image has ${file}`)
  }
  const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(runtime)![1]!) as string[]
  const pkg = JSON.parse(read('package.json')) as { bin: Record<string, string> }
  t.equal(cmd[1], pkg.bin.partyline, 'CMD runs the package bin')
  t.ok(existsSync(join(root, cmd[1]!.replace(/^dist\//, '').replace(/\.js$/, '.ts'))), `${cmd[1]} is compiled from a source file`)
  t.same(cmd.slice(2), ['serve'])

  // Everything copied from the context exists and is not ignored.
  const ignored = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))
  for (const path of [...copied(build), ...copied(runtime)]) {
    t.ok(existsSync(join(root, path)), `${path} exists`)
    t.notOk(ignored.some((pattern) => path === pattern || path.startsWith(`${pattern}/`)), `${path} is not in .dockerignore`)
  }
})

/** Compose durations: `15s`, `1m30s`. */
function seconds(duration: string): number {
  let total = 0
  for (const [, n, unit] of duration.matchAll(/(\d+)(ms|s|m|h)/g)) total += Number(n) * { ms: 0.001, s: 1, m: 60, h: 3600 }[unit as 'ms' | 's' | 'm' | 'h']
  return total
}
