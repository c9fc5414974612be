import { build } from 'esbuild'
import { fileURLToPath } from 'node:url'

export const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url))
export const ROOT_DIR = fileURLToPath(new URL('../..', import.meta.url))

/**
 * Bundles the generator and the bench servers to plain JavaScript in bench/build/, so the
 * measured processes run without the tsx loader (a second V8 isolate that would add memory to
 * every server and compete with the generator on its core). Packages stay external and
 * resolve from bench/node_modules.
 */
export async function buildBench(): Promise<void> {
  await build({
    absWorkingDir: BENCH_DIR,
    entryPoints: [
      'src/generate.ts',
      'src/hostile-attackers.ts',
      'src/systems/ws-relay-server.ts',
      'src/systems/socketio-server.ts',
      'src/systems/colyseus-server.ts',
    ],
    outdir: 'build',
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    logLevel: 'warning',
    // Colyseus' decorators/class fields need the TypeScript semantics tsx would give.
    tsconfigRaw: { compilerOptions: { useDefineForClassFields: true } },
  })
}
