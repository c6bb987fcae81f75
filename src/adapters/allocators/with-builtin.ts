import type { IallocatorRun, Iallocators } from '../../domain/ports/iallocator.js';
import { BUILTIN_IALLOCATOR } from '../../domain/templates.js';
import { solve } from '../../allocators/builtin/solve.js';

/** How the built-in allocator is named where a program path would be recorded. */
export const BUILTIN_PROGRAM = `builtin:${BUILTIN_IALLOCATOR}`;

/**
 * External allocators, plus the built-in one under its own name, run in this process:
 * the same code as the `opl-ialloc` program, without a process start. Its request and
 * answer are recorded like any other allocator's.
 */
export const withBuiltinAllocator = (external: Iallocators): Iallocators => ({
  find: async (name) => (name === BUILTIN_IALLOCATOR ? BUILTIN_PROGRAM : external.find(name)),
  run: async (program, request, timeoutMs): Promise<IallocatorRun> => {
    if (program !== BUILTIN_PROGRAM) return external.run(program, request, timeoutMs);
    const start = process.hrtime.bigint();
    // Through JSON, as a program would get it: the answer must not depend on sharing
    // objects with the caller.
    const answer = solve(JSON.parse(JSON.stringify(request)));
    return { exitCode: 0, stdout: JSON.stringify(answer), stderr: '', timedOut: false, durationMs: Number(process.hrtime.bigint() - start) / 1e6 };
  },
});
