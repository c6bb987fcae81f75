import { readFile } from 'node:fs/promises';
import { solve } from './solve.js';

export interface IallocIo {
  out(text: string): void;
  err(text: string): void;
  stdin(): Promise<string>;
}

const HELP = `usage: opl-ialloc [REQUEST-FILE]

opledger's built-in allocator as a Ganeti iallocator: reads a version 2 request from
REQUEST-FILE (Ganeti's convention) or, without one, from stdin, and prints the
response. It supports allocate, relocate, node-evacuate, change-group and
multi-allocate, scores placements with htools' cluster metrics and keeps an
allocation's group globally N+1 redundant, as hail does.

Exit status 0 with {"success": false, ...} when no placement exists; 1 when the
request cannot be read.
`;

/** The `opl-ialloc` program: one request in, one response out. */
export const main = async (argv: readonly string[], io: IallocIo): Promise<number> => {
  if (argv.includes('-h') || argv.includes('--help')) {
    io.out(HELP);
    return 0;
  }
  if (argv.length > 1 || argv[0]?.startsWith('-')) {
    io.err(`opl-ialloc: expected at most one argument, a request file; got ${argv.join(' ')}\n`);
    return 1;
  }
  const source = argv[0] ?? 'stdin';
  let text: string;
  try {
    text = argv[0] !== undefined ? await readFile(argv[0], 'utf8') : await io.stdin();
  } catch (error) {
    io.err(`opl-ialloc: cannot read ${source}: ${(error as Error).message}\n`);
    return 1;
  }
  let request: unknown;
  try {
    request = JSON.parse(text);
  } catch (error) {
    io.err(`opl-ialloc: ${source} is not JSON: ${(error as Error).message}\n`);
    return 1;
  }
  io.out(`${JSON.stringify(solve(request))}\n`);
  return 0;
};
