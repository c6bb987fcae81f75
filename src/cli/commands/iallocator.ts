import * as E from 'fp-ts/lib/Either.js';
import { allocateRequest, changeGroupRequest, nodeEvacuateRequest, relocateRequest } from '../../allocators/request.js';
import { parseResponse } from '../../allocators/response.js';
import { findGroup, findInstance, findNode } from '../../domain/cluster-state.js';
import { positional } from '../args.js';
import type { Command } from '../command.js';
import { json, table } from '../render.js';
import { UsageError } from '../usage-error.js';
import { instanceCreateOpcode as createOpcode } from './instance.js';
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
        const results = [];
        for (const c of consulted) {
          const name = (parsed.values.with as string | undefined) ?? c.allocator;
          const program = await s.iallocators.find(name);
          if (!program) {
            results.push({ allocator: name, recorded: c.chosen, now: null, same: false, problem: 'allocator not found' });
            continue;
          }
          const run = await s.iallocators.run(program, c.request, 60_000);
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
    usage: 'opl iallocator request relocate INSTANCE | node-evacuate NODE | change-group INSTANCE [GROUP...] | allocate NAME -t TEMPLATE|ext:POOL --memory SIZE --vcpus N [--disk ...]',
    summary: 'print the Ganeti v2 request an allocator would get, for allocator authors',
    options: {
      'disk-template': { type: 'string', short: 't' },
      memory: { type: 'string' },
      vcpus: { type: 'string' },
      disk: { type: 'string', multiple: true },
    },
    run: (parsed, io) => {
      const c = 'iallocator request';
      const [mode, subject, ...rest] = parsed.positionals;
      const modes = ['relocate', 'node-evacuate', 'change-group', 'allocate'];
      if (mode === undefined || !modes.includes(mode)) throw new UsageError(`${c}: mode '${mode ?? ''}': expected one of ${modes.join(', ')}`);
      if (subject === undefined) throw new UsageError(`${c} ${mode}: expected ${mode === 'node-evacuate' ? 'NODE' : mode === 'allocate' ? 'NAME' : 'INSTANCE'}, got none`);
      if (rest.length > 0 && mode !== 'change-group') throw new UsageError(`${c} ${mode}: unexpected ${rest.join(' ')}`);
      const create = mode === 'allocate' ? createOpcode(c, subject, parsed) : undefined;
      return withSession(c, parsed, io, async (s) => {
        const state = (await s.views()).cluster;
        const missing = (what: string, name: string) => {
          io.err(`opl: ${c}: ${what} '${name}' does not exist\n`);
          return 1;
        };
        if (create) {
          io.out(json(allocateRequest(state, create)));
          return 0;
        }
        if (mode === 'node-evacuate') {
          const node = findNode(state, subject);
          if (!node) return missing('node', subject);
          const on = [...state.instances.values()].filter((i) => i.primaryNodeUuid === node.uuid).sort((a, b) => a.name.localeCompare(b.name));
          io.out(json(nodeEvacuateRequest(state, on)));
          return 0;
        }
        const instance = findInstance(state, subject);
        if (!instance) return missing('instance', subject);
        if (mode === 'relocate') {
          io.out(json(relocateRequest(state, instance)));
          return 0;
        }
        const groups = [];
        for (const name of rest) {
          const group = findGroup(state, name);
          if (!group) return missing('group', name);
          groups.push(group.uuid);
        }
        io.out(json(changeGroupRequest(state, [instance], groups)));
        return 0;
      });
    },
  },
];
