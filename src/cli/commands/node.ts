import { parseNodeAddress } from '../../domain/node-address.js';
import { OpNodeAdd, OpNodeRemove, OpNodeRepair, OpNodeSetParams } from '../../domain/opcodes.js';
import type { NodeNow } from '../../domain/instance-status.js';
import { nodeInfos, type NodeInfo } from '../../projections/read-models.js';
import type { Command } from '../command.js';
import { listCommand } from '../list-command.js';
import { opcodeCommand } from '../opcode-command.js';
import { json, keyValues } from '../render.js';
import { viewCommand } from '../view-command.js';
import type { Session } from '../session.js';
import { NODE_PARAMETERS_OPTION, oobProgramParameter } from './node-parameters.js';
import { nodePowerCommands } from './node-power.js';

const flags = { nodeName: 'NAME', groupName: '--group', memoryMib: '--memory', cpus: '--cpus', diskMib: '--disk', address: '--address' };

type ObservedNode = NodeInfo & { status: 'ok' | 'offline' | 'unreachable'; unreachable?: string; now?: NodeNow };

/** The nodes with whether they answer now (all asked at once, bounded); offline ones are not asked. */
const observedNodes = async (s: Session): Promise<ObservedNode[]> => {
  const views = await s.views();
  const observed = await s.observe(views.cluster);
  return nodeInfos(views).map((n) => {
    const seen = observed.get(n.name);
    if (n.offline || !seen) return { ...n, status: 'offline' };
    return seen.reachable ? { ...n, status: 'ok', ...(seen.now && { now: seen.now }) } : { ...n, status: 'unreachable', unreachable: seen.why };
  });
};

const flagsOf = (n: { offline: boolean; drained: boolean; vmCapable: boolean }): string =>
  [n.offline && 'offline', n.drained && 'drained', !n.vmCapable && 'not-vm-capable'].filter(Boolean).join(',') || '-';

export const nodeCommands: Command[] = [
  ...nodePowerCommands,
  opcodeCommand({
    path: ['node', 'add'],
    args: ['name'],
    usage: '--group GROUP (--address HOST[:PORT] | --memory SIZE --cpus N) [--disk SIZE]',
    summary: "add a node: a host running opl-noded (its memory and CPUs as it reports them), or a local one with the capacity given",
    details: `With --address (Ganeti's -s/primary IP; the port defaults to 1811), the engine calls the
node's opl-noded over mutual TLS under the cluster's authority, refuses a host that does not
answer or whose certificate is not this cluster's node NAME, and records what it reported
(memory, CPUs, clock skew). --memory and --cpus may then only lower what it reported.
Without --address the node is local: a directory on this machine (the embedded default).`,
    options: { group: { type: 'string', short: 'g' }, memory: { type: 'string' }, cpus: { type: 'string' }, disk: { type: 'string' }, address: { type: 'string', short: 's' } },
    schema: OpNodeAdd,
    flags,
    opcode: ({ args: [name], values, size, number, fail }) => {
      const address = values.address === undefined ? undefined : parseNodeAddress(values.address);
      if (typeof address === 'string') return fail(`--address ${address}`);
      return {
        nodeName: name,
        groupName: values.group,
        memoryMib: size('--memory', values.memory),
        cpus: number('--cpus', values.cpus),
        diskMib: size('--disk', values.disk),
        address,
      };
    },
  }),
  opcodeCommand({
    path: ['node', 'modify'],
    args: ['name'],
    usage: '[--offline yes|no] [--drained yes|no] [--vm-capable yes|no] [--node-parameters oob_program=PATH] [--node-powered yes|no]',
    summary: "change a node's flags, or its oob program (oob_program= goes back to the cluster's)",
    options: { offline: { type: 'string', short: 'O' }, drained: { type: 'string', short: 'D' }, 'vm-capable': { type: 'string' }, 'node-powered': { type: 'string' }, ...NODE_PARAMETERS_OPTION },
    schema: OpNodeSetParams,
    flags: { ...flags, oobProgram: '--node-parameters oob_program', powered: '--node-powered' },
    opcode: ({ args: [name], values, yesNo, fail }) => ({
      nodeName: name,
      offline: yesNo('--offline', values.offline),
      drained: yesNo('--drained', values.drained),
      vmCapable: yesNo('--vm-capable', values['vm-capable']),
      oobProgram: oobProgramParameter(values['node-parameters'], fail),
      powered: yesNo('--node-powered', values['node-powered']),
    }),
  }),
  opcodeCommand({
    path: ['node', 'remove'],
    args: ['name'],
    summary: 'remove a node that hosts no instance (asks first, unless -f)',
    schema: OpNodeRemove,
    flags,
    opcode: ({ args: [name] }) => ({ nodeName: name }),
    confirm: ({ args: [name] }) => `Remove node '${name}' from the cluster?`,
  }),
  opcodeCommand({
    path: ['node', 'repair'],
    args: ['name'],
    usage: '[--give-up]',
    summary: 'do the undos a node owes (failed jobs could not reach it), or drop them with --give-up',
    details: `A job that failed while a node did not answer undoes what it did everywhere else, and
records the undos it could not do there (removing a disk it made, stopping a guest it
started) as owed by that node: 'node info' and 'cluster verify' show them. Once the node
answers again (and is not offline), 'node repair NODE' does them, each recorded as a step;
a leading 'opl daemon' submits it by itself once it sees the node answer.
--give-up drops them instead, recorded with the job: for a node that is gone for good (it
must be given up before 'node remove').`,
    options: { 'give-up': { type: 'boolean' } },
    schema: OpNodeRepair,
    flags,
    opcode: ({ args: [name], values }) => ({ nodeName: name, giveUp: values['give-up'] === true }),
  }),
  listCommand<ObservedNode>({
    path: ['node', 'list'],
    summary: 'list nodes with their capacity and use',
    fields: {
      name: { title: 'Node', get: (n) => n.name },
      uuid: { title: 'UUID', get: (n) => n.uuid },
      group: { title: 'Group', get: (n) => n.group },
      mtotal: { title: 'MTotal', get: (n) => n.memoryTotal, size: true },
      mfree: { title: 'MFree', get: (n) => n.memoryFree, size: true },
      dtotal: { title: 'DTotal', get: (n) => n.diskTotal, size: true },
      ctotal: { title: 'CPUs', get: (n) => n.cpus },
      cnos: { title: 'VCPUs_used', get: (n) => n.vcpusUsed },
      pinst_cnt: { title: 'Pinst', get: (n) => n.primaryInstances.length },
      pinst_list: { title: 'PriInstances', get: (n) => n.primaryInstances.join(',') || '-' },
      offline: { title: 'Offline', get: (n) => (n.offline ? 'Y' : 'N') },
      drained: { title: 'Drained', get: (n) => (n.drained ? 'Y' : 'N') },
      vm_capable: { title: 'VMCapable', get: (n) => (n.vmCapable ? 'Y' : 'N') },
      flags: { title: 'Flags', get: flagsOf },
      address: { title: 'Address', get: (n) => n.address ?? '-' },
      status: { title: 'Status', get: (n) => n.status },
    },
    defaults: ['name', 'group', 'mtotal', 'mfree', 'ctotal', 'pinst_cnt', 'flags', 'status'],
    // What a node says now (its free memory) changes from one listing to the next: node info shows it.
    rows: async (s) => (await observedNodes(s)).map(({ now: _now, ...node }) => node),
  }),
  viewCommand({
    path: ['node', 'info'],
    args: ['name'],
    usage: '[--output json]',
    summary: 'show one node',
    view: async (s, { command, args: [name] }) => {
      const node = (await observedNodes(s)).find((n) => n.name === name);
      if (!node) {
        s.io.err(`opl: ${command}: node '${name}' does not exist\n`);
        return 1;
      }
      const owed = [...(await s.views()).cluster.owedUndos.values()].filter((u) => u.nodeUuid === node.uuid).map(({ id, jobId, what }) => ({ id, jobId, what }));
      s.io.out(
        s.format === 'json'
          ? json({ ...node, owedUndos: owed })
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
              ['Status', node.unreachable ? `unreachable: ${node.unreachable}` : node.status],
              ['Address', node.address ?? 'local (no node daemon)'],
              ['oob program', node.oobProgram ? `${node.oobProgram}${node.oobProgramFrom === 'cluster' ? " (the cluster's)" : ''}` : 'none'],
              ['Powered', node.powered === undefined ? 'not powered through its oob program' : node.powered ? 'on' : 'off'],
              ...(node.reported
                ? ([
                    ['Reported at', node.reported.at],
                    ['Reported hostname', node.reported.hostname],
                    ['Reported memory (MiB)', `${node.reported.memoryTotalMib} total, ${node.reported.memoryFreeMib} available`],
                    ['Reported CPUs', node.reported.cpus],
                    ['Reported clock skew (ms)', node.reported.clockSkewMs],
                  ] as [string, string | number][])
                : []),
              ...(node.now
                ? ([
                    ['Memory now (MiB)', `${node.now.memoryTotalMib} total, ${node.now.memoryFreeMib} available`],
                    ...(node.now.storage.length === 0
                      ? [['Storage directories', 'none given to its daemon']]
                      : node.now.storage.map((d) => [`Storage ${d.path}`, d.error ? `cannot be looked at: ${d.error}` : `${d.freeMib} MiB free of ${d.totalMib}`])),
                  ] as [string, string | number][])
                : []),
              ['Primary instances', node.primaryInstances],
              ['Undos owed', owed.length === 0 ? 'none' : `${owed.length} ('opl node repair ${node.name}' once it answers)`],
              ...owed.map((u): [string, string] => [`  job ${u.jobId}`, u.what]),
            ]),
      );
      return 0;
    },
  }),
];
