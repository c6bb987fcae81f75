import { access, constants, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import type { IallocatorRun, Iallocators } from '../../domain/ports/iallocator.js';
import { runBounded } from '../process/run-bounded.js';

/** Ganeti's allocators (Debian's `ganeti-htools` puts `hail` here), after OPL_IALLOCATOR_PATH. */
export const GANETI_IALLOCATOR_DIR = '/usr/lib/ganeti/iallocators';
const OUTPUT_LIMIT = 4 * 1024 * 1024;

export const iallocatorSearchPath = (env: NodeJS.ProcessEnv): string[] => [
  ...(env.OPL_IALLOCATOR_PATH ?? '').split(':').filter((p) => p !== ''),
  GANETI_IALLOCATOR_DIR,
];

/** `-I NAME` looks NAME up on the search path; `-I PATH` runs that program. */
export const findIallocator = async (name: string, searchPath: readonly string[]): Promise<string | undefined> => {
  const executable = (p: string) => access(p, constants.X_OK).then(() => true, () => false);
  if (name.includes('/')) return isAbsolute(name) && (await executable(name)) ? name : undefined;
  for (const dir of searchPath) if (await executable(join(dir, name))) return join(dir, name);
  return undefined;
};

export const createIallocators = (searchPath: readonly string[]): Iallocators => ({
  find: (name) => findIallocator(name, searchPath),
  run: runIallocator,
});

/** What an allocator's environment holds: nothing of ours but PATH, and the locale and temporary directory a program may need. */
export const allocatorEnvironment = (env: NodeJS.ProcessEnv): Record<string, string> => {
  const kept: Record<string, string> = { PATH: env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' };
  for (const name of ['LANG', 'LC_ALL', 'TMPDIR']) if (env[name] !== undefined) kept[name] = env[name]!;
  return kept;
};

/**
 * Runs an allocator on a request. It gets the request both ways: as a file named by
 * its only argument (Ganeti's convention, which `hail` follows) and on stdin (ours),
 * so that programs written for either work unchanged.
 */
export const runIallocator = async (program: string, request: unknown, timeoutMs: number): Promise<IallocatorRun> => {
  const dir = await mkdtemp(join(tmpdir(), 'opl-ialloc-'));
  const file = join(dir, 'request.json');
  const body = JSON.stringify(request);
  await writeFile(file, body);
  try {
    return await runBounded(program, { args: [file], input: body, timeoutMs, outputLimit: OUTPUT_LIMIT, env: allocatorEnvironment(process.env) });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};
