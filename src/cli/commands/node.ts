import { OpNodeAdd, OpNodeRemove, OpNodeSetParams } from '../../domain/opcodes.js';
import { nodeInfos } from '../../projections/read-models.js';
import { parseNumber, parseSize, parseYesNo, positional, validated } from '../args.js';
import type { Command } from '../command.js';
import { json, keyValues, table } from '../render.js';
import { runJob } from '../session.js';
import { withSession } from './with-session.js';

const flags = { nodeName: 'NAME', groupName: '--group', memoryMib: '--memory', cpus: '--cpus', diskMib: '--disk' };

export const nodeCommands: Command[] = [
  {
    path: ['node', 'add'],
    usage: 'opl node add NAME --group GROUP --memory SIZE --cpus N [--disk SIZE]',
    summary: 'add a node with its capacity',
    options: { group: { type: 'string', short: 'g' }, memory: { type: 'string' }, cpus: { type: 'string' }, disk: { type: 'string' } },
    run: (parsed, io) => {
      const c = 'node add';
      const [name] = positional(c, parsed, ['name']);
      const op = validated(c, OpNodeAdd, {
        type: 'OP_NODE_ADD',
        nodeName: name,
        groupName: parsed.values.group,
        memoryMib: parseSize(c, '--memory', parsed.values.memory as string | undefined),
        cpus: parseNumber(c, '--cpus', parsed.values.cpus as string | undefined),
        diskMib: parseSize(c, '--disk', parsed.values.disk as string | undefined),
      }, flags);
      return withSession(c, parsed, io, (s) => runJob(s, c, parsed, [op]));
    },
  },
  {
    path: ['node', 'modify'],
    usage: 'opl node modify NAME [--offline yes|no] [--drained yes|no] [--vm-capable yes|no]',
    summary: "change a node's flags",
    options: { offline: { type: 'string', short: 'O' }, drained: { type: 'string', short: 'D' }, 'vm-capable': { type: 'string' } },
    run: (parsed, io) => {
      const c = 'node modify';
      const [name] = positional(c, parsed, ['name']);
      const op = validated(c, OpNodeSetParams, {
        type: 'OP_NODE_SET_PARAMS',
        nodeName: name,
        offline: parseYesNo(c, '--offline', parsed.values.offline as string | undefined),
        drained: parseYesNo(c, '--drained', parsed.values.drained as string | undefined),
        vmCapable: parseYesNo(c, '--vm-capable', parsed.values['vm-capable'] as string | undefined),
      }, flags);
      return withSession(c, parsed, io, (s) => runJob(s, c, parsed, [op]));
    },
  },
  {
    path: ['node', 'remove'],
    usage: 'opl node remove NAME',
    summary: 'remove a node that hosts no instance',
    options: {},
    run: (parsed, io) => {
      const [name] = positional('node remove', parsed, ['name']);
      const op = validated('node remove', OpNodeRemove, { type: 'OP_NODE_REMOVE', nodeName: name }, flags);
      return withSession('node remove', parsed, io, (s) => runJob(s, 'node remove', parsed, [op]));
    },
  },
  {
    path: ['node', 'list'],
    usage: 'opl node list [--output json]',
    summary: 'list nodes with their capacity and use',
    options: {},
    run: (parsed, io) => {
      positional('node list', parsed, []);
      return withSession('node list', parsed, io, async (s) => {
        const nodes = nodeInfos(await s.views());
        io.out(
          s.format === 'json'
            ? json(nodes)
            : table(
                ['Node', 'Group', 'MTotal', 'MFree', 'CPUs', 'Pinst', 'Flags'],
                nodes.map((n) => [n.name, n.group, n.memoryTotal, n.memoryFree, n.cpus, n.primaryInstances.length, flagsOf(n)]),
              ),
        );
        return 0;
      });
    },
  },
  {
    path: ['node', 'info'],
    usage: 'opl node info NAME [--output json]',
    summary: 'show one node',
    options: {},
    run: (parsed, io) => {
      const [name] = positional('node info', parsed, ['name']);
      return withSession('node info', parsed, io, async (s) => {
        const node = nodeInfos(await s.views()).find((n) => n.name === name);
        if (!node) {
          io.err(`opl: node info: node '${name}' does not exist\n`);
          return 1;
        }
        io.out(
          s.format === 'json'
            ? json(node)
            : keyValues([
                ['Node name', node.name],
                ['UUID', node.uuid],
                ['Group', node.group],
                ['Memory total (MiB)', node.memoryTotal],
                ['Memory free (MiB)', node.memoryFree],
                ['CPUs', node.cpus],
                ['vCPUs used', node.vcpusUsed],
                ['Disk (MiB)', node.diskTotal],
                ['Flags', flagsOf(node)],
                ['Primary instances', node.primaryInstances],
              ]),
        );
        return 0;
      });
    },
  },
];

const flagsOf = (n: { offline: boolean; drained: boolean; vmCapable: boolean }): string =>
  [n.offline && 'offline', n.drained && 'drained', !n.vmCapable && 'not-vm-capable'].filter(Boolean).join(',') || '-';
