/**
 * Builds what the server serves to people:
 * - `dist/sdk/partyline.js`: the SDK (`clients/js`) as one ES module with its codecs built
 *   in (what a page imports from `/sdk/partyline.js`, and what the package exports), and
 *   `partyline.d.ts`, its types in one file;
 * - `dist/web/`: the pages (`web/*.html`), their style and their scripts (`web/src/*.ts`),
 *   each script one ES module that imports the SDK from `/sdk/partyline.js` at run time,
 *   as any game page would, with what else it needs (the QR encoder) bundled in.
 *
 *   npx tsx scripts/build-web.ts            # both
 *   npx tsx scripts/build-web.ts --no-types # skip the .d.ts (a few seconds of tsc)
 */
import { build, type BuildOptions } from 'esbuild'
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

/** The pages' entry points: `web/src/<name>.ts` → `assets/<name>.js`. */
export const PAGE_SCRIPTS = ['front-door', 'demo-tv', 'race-tv', 'phone', 'planet', 'admin'] as const

export interface WebBuild {
  /** Where the pages go (`dist/web` by default). */
  readonly webDir?: string
  /** Where the SDK goes (`dist/sdk` by default). */
  readonly sdkDir?: string
  /** Also write `partyline.d.ts` (slower: runs the TypeScript compiler). */
  readonly types?: boolean
}

export async function buildWeb(opts: WebBuild = {}): Promise<{ webDir: string; sdkDir: string }> {
  const webDir = opts.webDir ?? join(root, 'dist/web')
  const sdkDir = opts.sdkDir ?? join(root, 'dist/sdk')
  mkdirSync(join(webDir, 'assets'), { recursive: true })
  mkdirSync(sdkDir, { recursive: true })
  const common: BuildOptions = {
    bundle: true,
    format: 'esm',
    platform: 'browser',
    // The browser builds of the codecs and the QR encoder; Node 20 runs the SDK's as well.
    target: ['es2022', 'chrome100', 'firefox100', 'safari15.4'],
    minify: true,
    sourcemap: true,
    legalComments: 'linked',
    logLevel: 'warning',
    // protobufjs looks for optional modules with an indirect eval; browsers have none of them.
    logOverride: { 'direct-eval': 'silent' },
  }
  await build({ ...common, entryPoints: [join(root, 'clients/js/index.ts')], outfile: join(sdkDir, 'partyline.js') })
  await build({
    ...common,
    entryPoints: PAGE_SCRIPTS.map((name) => ({ in: join(root, `web/src/${name}.ts`), out: name })),
    outdir: join(webDir, 'assets'),
    // Pages take the SDK as any page would: from the server, at run time.
    external: ['/sdk/partyline.js'],
  })
  for (const file of readdirSync(join(root, 'web'))) {
    if (file.endsWith('.html')) copyFileSync(join(root, 'web', file), join(webDir, file))
    if (file.endsWith('.css') || file.endsWith('.svg')) copyFileSync(join(root, 'web', file), join(webDir, 'assets', file))
  }
  if (opts.types) writeFileSync(join(sdkDir, 'partyline.d.ts'), await sdkTypes())
  return { webDir, sdkDir }
}

/** The SDK's declarations in one file, for `/sdk/partyline.d.ts` and the package's `types`. */
async function sdkTypes(): Promise<string> {
  const { generateDtsBundle } = await import('dts-bundle-generator')
  const [dts] = generateDtsBundle([{ filePath: join(root, 'clients/js/index.ts'), output: { noBanner: true, exportReferencedTypes: false } }], {
    preferredConfigPath: join(root, 'clients/js/tsconfig.json'),
  })
  return `// partyline SDK: the types of /sdk/partyline.js (source: clients/js)\n${dts}`
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const t0 = performance.now()
  const out = await buildWeb({ types: !process.argv.includes('--no-types') })
  process.stdout.write(`built ${out.sdkDir}/partyline.js and ${out.webDir} in ${Math.round(performance.now() - t0)} ms\n`)
}
