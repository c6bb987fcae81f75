import { z } from 'zod';
import { findNode } from '../../domain/cluster-state.js';
import { objectName } from '../../domain/names.js';
import { Opcode } from '../../domain/opcodes.js';
import { whyNot } from '../../domain/template-rules.js';
import { jobInfo } from '../../projections/read-models.js';
import type { Command } from '../command.js';
import { json, table } from '../render.js';
import { quote } from '../text.js';
import { validated } from '../validate.js';
import { viewCommand } from '../view-command.js';

/**
 * `node migrate` and `node evacuate`: one job per primary instance of the node, as
 * Ganeti submits them, so one instance that cannot move does not hold back the rest.
 * Running instances migrate (live); with evacuate, stopped ones fail over.
 */
const moveAll = (verb: 'migrate' | 'evacuate'): Command =>
  viewCommand({
    path: ['node', verb],
    args: ['node'],
    usage: "[-I ALLOCATOR | -n TARGET]   (neither: the cluster's default allocator)",
    summary:
      verb === 'migrate'
        ? 'live-migrate every running primary instance off NODE'
        : 'move every primary instance off NODE: running ones migrate, stopped ones fail over',
    options: { iallocator: { type: 'string', short: 'I' }, node: { type: 'string', short: 'n' } },
    prepare: (ctx) => {
      if (ctx.values.iallocator !== undefined && ctx.values.node !== undefined) ctx.fail('give -I ALLOCATOR or -n TARGET, not both');
      // Checked before any job is submitted, not when the first instance's opcode is built.
      validated(ctx.command, z.object({ targetNode: objectName.optional() }), { targetNode: ctx.values.node }, { targetNode: '-n' });
    },
    view: async (s, { command, args: [name], values: { iallocator: allocator, node: target, submit } }) => {
      const state = (await s.views()).cluster;
      const node = findNode(state, name);
      if (!node) {
        s.io.err(`opl: ${command}: node ${quote(name)} does not exist\n`);
        return 1;
      }
      const instances = [...state.instances.values()]
        .filter((i) => i.primaryNodeUuid === node.uuid && (verb === 'evacuate' || i.adminState === 'up'))
        .sort((a, b) => a.name.localeCompare(b.name));
      const stuck = instances.map((i) => [i.name, whyNot(i.diskTemplate, 'failover')] as const).filter(([, why]) => why);
      if (stuck.length > 0) {
        s.io.err(`opl: ${command}: ${stuck.map(([i, why]) => `${i}: ${why}`).join('; ')}\n`);
        return 1;
      }
      if (instances.length === 0) {
        s.io.out(`node ${node.name} has no ${verb === 'migrate' ? 'running ' : ''}primary instances; nothing to do\n`);
        return 0;
      }
      const jobs: number[] = [];
      for (const instance of instances) {
        const op = validated(command, Opcode, {
          type: instance.adminState === 'up' ? 'OP_INSTANCE_MIGRATE' : 'OP_INSTANCE_FAILOVER',
          instanceName: instance.name,
          ...(allocator !== undefined && { iallocator: allocator }),
          ...(target !== undefined && { targetNode: target }),
        }, { iallocator: '-I', targetNode: '-n' });
        jobs.push(await s.plane.submit([op]));
      }
      if (submit) {
        s.io.out(s.format === 'json' ? json({ jobIds: jobs }) : `${jobs.join('\n')}\n`);
        return 0;
      }
      const finished = [];
      for (const id of jobs) finished.push(await s.plane.awaitJob(id));
      if (s.format === 'json') s.io.out(json(finished.map(jobInfo)));
      else s.io.out(table(['Job', 'Instance', 'Status', 'Detail'], finished.map((j, k) => [j.id, instances[k]!.name, j.status, j.opcodes[0]!.error?.message ?? '-'])));
      return finished.every((j) => j.status === 'success') ? 0 : 1;
    },
  });

export const nodeEvacuateCommands: Command[] = [moveAll('migrate'), moveAll('evacuate')];
