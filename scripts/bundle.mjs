// Bundles the CLI into one ES module so that each `opl` invocation loads one file
// instead of hundreds: start-up is most of a short command's time.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** zod re-exports every locale; opl prints English only, so keep just that one. */
const englishOnly = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /locales\/index\.js$/ }, (args) =>
      args.importer.includes(`${'/'}zod${'/'}`) ? { path: args.path, namespace: 'zod-locales', pluginData: args.resolveDir } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: "export { default as en } from './en.js';",
      resolveDir: join(args.pluginData, '..', 'locales'),
    }));
  },
};

const entries = [
  ['src/cli/main.ts', 'dist/opl.mjs'],
  ['src/allocators/builtin/opl-ialloc.ts', 'dist/opl-ialloc.mjs'],
  ['src/noded/main.ts', 'dist/opl-noded.mjs'],
];
if (process.argv.includes('--bench')) entries.push(['bench/run.ts', 'dist/bench.mjs'], ['bench/allocator.ts', 'dist/bench-allocator.mjs']);
for (const [entry, out] of entries) {
  await build({
    entryPoints: [join(root, entry)],
    outfile: join(root, out),
    bundle: true,
    platform: 'neutral',
    mainFields: ['module', 'main'],
    format: 'esm',
    target: 'node20',
    sourcemap: true,
    external: ['better-sqlite3', 'pg', 'node:*'],
    plugins: [englishOnly],
    logLevel: 'warning',
  });
}
