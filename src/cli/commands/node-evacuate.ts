import { findNode } from '../../domain/cluster-state.js';
import { Opcode } from '../../domain/opcodes.js';
import { whyNot } from '../../domain/template-rules.js';
import { jobInfo } from '../../projections/read-models.js';
import { positional } from '../args.js';
import type { Command } from '../command.js';
import { json, table } from '../render.js';
import { UsageError } from '../usage-error.js';
import { withSession } from './with-session.js';

/**
 * `node migrate` and `node evacuate`: one job per primary instance of the node, as
 * Ganeti submits them, so one instance that cannot move does not hold back the rest.
 * Running instances migrate (live); with evacuate, stopped ones fail over.
 */
const moveAll = (verb: 'migrate' | 'evacuate'): Command => ({
  path: ['node', verb],
  usage: `opl node ${verb} NODE [-I ALLOCATOR | -n TARGET]   (neither: the cluster's default allocator)`,
  summary:
    verb === 'migrate'
      ? 'live-migrate every running primary instance off NODE'
      : 'move every primary instance off NODE: running ones migrate, stopped ones fail over',
  options: { iallocator: { type: 'string', short: 'I' }, node: { type: 'string', short: 'n' } },
  run: (parsed, io) => {
    const c = `node ${verb}`;
    const [name] = positional(c, parsed, ['node']);
    const allocator = parsed.values.iallocator as string | undefined;
    const target = parsed.values.node as string | undefined;
    if (allocator !== undefined && target !== undefined) throw new UsageError(`${c}: give -I ALLOCATOR or -n TARGET, not both`);
    return withSession(c, parsed, io, async (s) => {
      const state = (await s.views()).cluster;
      const node = findNode(state, name!);
      if (!node) {
        io.err(`opl: ${c}: node '${name}' does not exist\n`);
        return 1;
      }
      const instances = [...state.instances.values()]
        .filter((i) => i.primaryNodeUuid === node.uuid && (verb === 'evacuate' || i.adminState === 'up'))
        .sort((a, b) => a.name.localeCompare(b.name));
      const stuck = instances.map((i) => [i.name, whyNot(i.diskTemplate, 'failover')] as const).filter(([, why]) => why);
      if (stuck.length > 0) {
        io.err(`opl: ${c}: ${stuck.map(([i, why]) => `${i}: ${why}`).join('; ')}\n`);
        return 1;
      }
      if (instances.length === 0) {
        io.out(`node ${node.name} has no ${verb === 'migrate' ? 'running ' : ''}primary instances; nothing to do\n`);
        return 0;
      }
      const jobs: number[] = [];
      for (const instance of instances) {
        const migrate = instance.adminState === 'up';
        const op = Opcode.parse({
          type: migrate ? 'OP_INSTANCE_MIGRATE' : 'OP_INSTANCE_FAILOVER',
          instanceName: instance.name,
          ...(allocator !== undefined && { iallocator: allocator }),
          ...(target !== undefined && { targetNode: target }),
        });
        jobs.push(await s.plane.submit([op]));
      }
      if (parsed.values.submit) {
        io.out(s.format === 'json' ? json({ jobIds: jobs }) : `${jobs.join('\n')}\n`);
        return 0;
      }
      const finished = [];
      for (const id of jobs) finished.push(await s.plane.awaitJob(id));
      if (s.format === 'json') io.out(json(finished.map(jobInfo)));
      else {
        io.out(table(['Job', 'Instance', 'Status', 'Detail'], finished.map((j, k) => [j.id, instances[k]!.name, j.status, j.opcodes[0]!.error?.message ?? '-'])));
      }
      return finished.every((j) => j.status === 'success') ? 0 : 1;
    });
  },
});

export const nodeEvacuateCommands: Command[] = [moveAll('migrate'), moveAll('evacuate')];
