import * as E from 'fp-ts/lib/Either.js';
import { createIallocators, iallocatorSearchPath } from '../../adapters/allocators/external.js';
import { withBuiltinAllocator } from '../../adapters/allocators/with-builtin.js';
import { relocateRequest } from '../../allocators/request.js';
import { parseResponse } from '../../allocators/response.js';
import { findInstance } from '../../domain/cluster-state.js';
import { positional } from '../args.js';
import type { Command } from '../command.js';
import { json, table } from '../render.js';
import { UsageError } from '../usage-error.js';
import { withSession } from './with-session.js';

interface Consulted {
  allocator: string;
  program: string | null;
  request: unknown;
  answer: string;
  chosen: string[];
  problem?: string;
}

export const iallocatorCommands: Command[] = [
  {
    path: ['iallocator', 'replay'],
    usage: 'opl iallocator replay JOB [--with ALLOCATOR] [--output json]',
    summary: 'run again, through the same (or another) allocator, every request a job recorded, and compare the answers',
    options: { with: { type: 'string' } },
    run: (parsed, io) => {
      const [jobText] = positional('iallocator replay', parsed, ['job']);
      const jobId = Number(jobText);
      if (!Number.isInteger(jobId) || jobId <= 0) throw new UsageError(`iallocator replay: '${jobText}' is not a job id`);
      return withSession('iallocator replay', parsed, io, async (s) => {
        const consulted: Consulted[] = [];
        for await (const e of s.plane.store.readStream(`job-${jobId}`)) {
          if (e.type === 'IallocatorConsulted') consulted.push(e.data as Consulted);
        }
        if (consulted.length === 0) {
          io.err(`opl: iallocator replay: job ${jobId} consulted no iallocator\n`);
          return 1;
        }
        const allocators = withBuiltinAllocator(createIallocators(iallocatorSearchPath(io.env)));
        const results = [];
        for (const c of consulted) {
          const name = (parsed.values.with as string | undefined) ?? c.allocator;
          const program = await allocators.find(name);
          if (!program) {
            results.push({ allocator: name, recorded: c.chosen, now: null, same: false, problem: 'allocator not found' });
            continue;
          }
          const run = await allocators.run(program, c.request, 60_000);
          const answer = parseResponse(run.stdout);
          const now = E.isRight(answer) && Array.isArray(answer.right.result) ? (answer.right.result as string[]) : null;
          results.push({ allocator: name, recorded: c.chosen, now, same: JSON.stringify(now) === JSON.stringify(c.chosen), problem: c.problem ?? null });
        }
        if (s.format === 'json') io.out(json(results));
        else io.out(table(['Allocator', 'Recorded', 'Now', 'Same'], results.map((r) => [r.allocator, r.recorded.join(',') || `(failed: ${r.problem})`, r.now?.join(',') ?? '-', r.same ? 'yes' : 'NO'])));
        return results.every((r) => r.same) ? 0 : 1;
      });
    },
  },
  {
    path: ['iallocator', 'request'],
    usage: 'opl iallocator request relocate INSTANCE',
    summary: 'print the Ganeti v2 request an allocator would get, for allocator authors',
    options: {},
    run: (parsed, io) => {
      const [mode, name] = positional('iallocator request', parsed, ['mode', 'instance']);
      if (mode !== 'relocate') throw new UsageError(`iallocator request: mode '${mode}': only relocate is built so far`);
      return withSession('iallocator request', parsed, io, async (s) => {
        const state = (await s.views()).cluster;
        const instance = findInstance(state, name!);
        if (!instance) {
          io.err(`opl: iallocator request: instance '${name}' does not exist\n`);
          return 1;
        }
        io.out(json(relocateRequest(state, instance)));
        return 0;
      });
    },
  },
];
