import { OpGroupAdd, OpGroupRemove, OpGroupRename, OpGroupSetParams } from '../../domain/opcodes.js';
import { groupInfos } from '../../projections/read-models.js';
import { positional, validated } from '../args.js';
import type { Command } from '../command.js';
import { json, table } from '../render.js';
import { runJob } from '../session.js';
import { withSession } from './with-session.js';

export const groupCommands: Command[] = [
  {
    path: ['group', 'add'],
    usage: 'opl group add NAME',
    summary: 'add a node group',
    options: {},
    run: (parsed, io) => {
      const [name] = positional('group add', parsed, ['name']);
      const op = validated('group add', OpGroupAdd, { type: 'OP_GROUP_ADD', groupName: name }, { groupName: 'NAME' });
      return withSession('group add', parsed, io, (s) => runJob(s, 'group add', parsed, [op]));
    },
  },
  {
    path: ['group', 'rename'],
    usage: 'opl group rename OLD NEW',
    summary: 'rename a node group',
    options: {},
    run: (parsed, io) => {
      const [from, to] = positional('group rename', parsed, ['old', 'new']);
      const op = validated('group rename', OpGroupRename, { type: 'OP_GROUP_RENAME', groupName: from, newName: to }, { groupName: 'OLD', newName: 'NEW' });
      return withSession('group rename', parsed, io, (s) => runJob(s, 'group rename', parsed, [op]));
    },
  },
  {
    path: ['group', 'remove'],
    usage: 'opl group remove NAME',
    summary: 'remove an empty node group',
    options: {},
    run: (parsed, io) => {
      const [name] = positional('group remove', parsed, ['name']);
      const op = validated('group remove', OpGroupRemove, { type: 'OP_GROUP_REMOVE', groupName: name }, { groupName: 'NAME' });
      return withSession('group remove', parsed, io, (s) => runJob(s, 'group remove', parsed, [op]));
    },
  },
  {
    path: ['group', 'modify'],
    usage: 'opl group modify GROUP [--connect-pool POOL] [--disconnect-pool POOL]',
    summary: "make a storage pool reachable from a group's nodes, or not",
    options: { 'connect-pool': { type: 'string' }, 'disconnect-pool': { type: 'string' } },
    run: (parsed, io) => {
      const [name] = positional('group modify', parsed, ['group']);
      const op = validated('group modify', OpGroupSetParams, {
        type: 'OP_GROUP_SET_PARAMS',
        groupName: name,
        connectPool: parsed.values['connect-pool'],
        disconnectPool: parsed.values['disconnect-pool'],
      }, { groupName: 'GROUP', connectPool: '--connect-pool', disconnectPool: '--disconnect-pool' });
      return withSession('group modify', parsed, io, (s) => runJob(s, 'group modify', parsed, [op]));
    },
  },
  {
    path: ['group', 'list'],
    usage: 'opl group list [--output json]',
    summary: 'list node groups',
    options: {},
    run: (parsed, io) => {
      positional('group list', parsed, []);
      return withSession('group list', parsed, io, async (s) => {
        const groups = groupInfos(await s.views());
        io.out(s.format === 'json' ? json(groups) : table(['Group', 'Nodes', 'Instances', 'Pools', 'UUID'], groups.map((g) => [g.name, g.nodes.length, g.instances, g.pools.join(',') || '-', g.uuid])));
        return 0;
      });
    },
  },
];
