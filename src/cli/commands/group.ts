import { OpGroupAdd, OpGroupRemove, OpGroupRename, OpGroupSetParams } from '../../domain/opcodes.js';
import { groupInfos, type GroupInfo } from '../../projections/read-models.js';
import type { Command } from '../command.js';
import { listCommand } from '../list-command.js';
import { opcodeCommand } from '../opcode-command.js';

export const groupCommands: Command[] = [
  opcodeCommand({
    path: ['group', 'add'],
    args: ['name'],
    summary: 'add a node group',
    schema: OpGroupAdd,
    flags: { groupName: 'NAME' },
    opcode: ({ args: [name] }) => ({ groupName: name }),
  }),
  opcodeCommand({
    path: ['group', 'rename'],
    args: ['old', 'new'],
    summary: 'rename a node group',
    schema: OpGroupRename,
    flags: { groupName: 'OLD', newName: 'NEW' },
    opcode: ({ args: [from, to] }) => ({ groupName: from, newName: to }),
  }),
  opcodeCommand({
    path: ['group', 'remove'],
    args: ['name'],
    summary: 'remove an empty node group',
    schema: OpGroupRemove,
    flags: { groupName: 'NAME' },
    opcode: ({ args: [name] }) => ({ groupName: name }),
  }),
  opcodeCommand({
    path: ['group', 'modify'],
    args: ['group'],
    usage: '[--connect-pool POOL] [--disconnect-pool POOL]',
    summary: "make a storage pool reachable from a group's nodes, or not",
    options: { 'connect-pool': { type: 'string' }, 'disconnect-pool': { type: 'string' } },
    schema: OpGroupSetParams,
    flags: { groupName: 'GROUP', connectPool: '--connect-pool', disconnectPool: '--disconnect-pool' },
    opcode: ({ args: [name], values }) => ({
      groupName: name,
      connectPool: values['connect-pool'],
      disconnectPool: values['disconnect-pool'],
    }),
  }),
  listCommand<GroupInfo>({
    path: ['group', 'list'],
    summary: 'list node groups',
    fields: {
      name: { title: 'Group', get: (g) => g.name },
      node_cnt: { title: 'Nodes', get: (g) => g.nodes.length },
      node_list: { title: 'NodeList', get: (g) => g.nodes.join(',') || '-' },
      pinst_cnt: { title: 'Instances', get: (g) => g.instances },
      pools: { title: 'Pools', get: (g) => g.pools.join(',') || '-' },
      uuid: { title: 'UUID', get: (g) => g.uuid },
    },
    defaults: ['name', 'node_cnt', 'pinst_cnt', 'pools', 'uuid'],
    rows: async (s) => groupInfos(await s.views()),
  }),
];
