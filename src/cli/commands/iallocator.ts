import * as E from 'fp-ts/lib/Either.js';
import { allocateRequest, changeGroupRequest, nodeEvacuateRequest, relocateRequest } from '../../allocators/request.js';
import { parseResponse } from '../../allocators/response.js';
import { findGroup, findInstance, findNode } from '../../domain/cluster-state.js';
import { OpInstanceCreate } from '../../domain/opcodes.js';
import type { Command } from '../command.js';
import { json, table } from '../render.js';
import { quote } from '../text.js';
import { UsageError } from '../usage-error.js';
import { validated } from '../validate.js';
import { viewCommand } from '../view-command.js';
import { CREATE_OPTIONS, createFields } from './instance.js';

interface Consulted {
  allocator: string;
  program: string | null;
  request: unknown;
  answer: string;
  chosen: string[];
  problem?: string;
}

const MODES = ['relocate', 'node-evacuate', 'change-group', 'allocate'] as const;

export const iallocatorCommands: Command[] = [
  viewCommand({
    path: ['iallocator', 'replay'],
    args: ['job'],
    usage: '[--with ALLOCATOR] [--output json]',
    summary: 'run again, through the same (or another) allocator, every request a job recorded, and compare the answers',
    options: { with: { type: 'string' } },
    prepare: ({ args: [text], fail }) => {
      const jobId = Number(text);
      return Number.isInteger(jobId) && jobId > 0 ? jobId : fail(`${quote(text)} is not a job id`);
    },
    view: async (s, { command, values, prepared: jobId }) => {
      const consulted: Consulted[] = [];
      for await (const e of s.plane.store.readStream(`job-${jobId}`)) {
        if (e.type === 'IallocatorConsulted') consulted.push(e.data as Consulted);
      }
      if (consulted.length === 0) {
        s.io.err(`opl: ${command}: job ${jobId} consulted no iallocator\n`);
        return 1;
      }
      const results = [];
      for (const c of consulted) {
        const name = values.with ?? c.allocator;
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
      if (s.format === 'json') s.io.out(json(results));
      else s.io.out(table(['Allocator', 'Recorded', 'Now', 'Same'], results.map((r) => [r.allocator, r.recorded.join(',') || `(failed: ${r.problem})`, r.now?.join(',') ?? '-', r.same ? 'yes' : 'NO'])));
      return results.every((r) => r.same) ? 0 : 1;
    },
  }),
  viewCommand({
    path: ['iallocator', 'request'],
    usage: 'relocate INSTANCE | node-evacuate NODE | change-group INSTANCE [GROUP...] | allocate NAME -t TEMPLATE|ext:POOL --memory SIZE --vcpus N [--disk ...]',
    summary: 'print the Ganeti v2 request an allocator would get, for allocator authors',
    options: CREATE_OPTIONS,
    prepare: (ctx) => {
      const [mode, subject, ...rest] = ctx.positionals;
      const known = MODES.find((m) => m === mode);
      if (known === undefined) return ctx.fail(`mode ${quote(mode ?? '')}: expected one of ${MODES.join(', ')}`);
      const refuse = (message: string) => new UsageError(`${ctx.command} ${known}: ${message}`);
      if (subject === undefined) throw refuse(`expected ${known === 'node-evacuate' ? 'NODE' : known === 'allocate' ? 'NAME' : 'INSTANCE'}, got none`);
      if (rest.length > 0 && known !== 'change-group') throw refuse(`unexpected ${quote(rest.join(' '))}`);
      const create = known === 'allocate' ? validated(ctx.command, OpInstanceCreate, { type: 'OP_INSTANCE_CREATE', instanceName: subject, ...createFields(ctx) }, { instanceName: 'NAME', memoryMib: '--memory', vcpus: '--vcpus', disks: '--disk' }) : undefined;
      return { mode: known, subject, groups: rest, create };
    },
    view: async (s, { command, prepared: { mode, subject, groups, create } }) => {
      const state = (await s.views()).cluster;
      const missing = (what: string, name: string) => {
        s.io.err(`opl: ${command}: ${what} ${quote(name)} does not exist\n`);
        return 1;
      };
      if (create) {
        s.io.out(json(allocateRequest(state, create)));
        return 0;
      }
      if (mode === 'node-evacuate') {
        const node = findNode(state, subject);
        if (!node) return missing('node', subject);
        const on = [...state.instances.values()].filter((i) => i.primaryNodeUuid === node.uuid).sort((a, b) => a.name.localeCompare(b.name));
        s.io.out(json(nodeEvacuateRequest(state, on)));
        return 0;
      }
      const instance = findInstance(state, subject);
      if (!instance) return missing('instance', subject);
      if (mode === 'relocate') {
        s.io.out(json(relocateRequest(state, instance)));
        return 0;
      }
      const uuids = [];
      for (const name of groups) {
        const group = findGroup(state, name);
        if (!group) return missing('group', name);
        uuids.push(group.uuid);
      }
      s.io.out(json(changeGroupRequest(state, [instance], uuids)));
      return 0;
    },
  }),
];
