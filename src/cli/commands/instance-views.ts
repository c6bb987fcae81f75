import { findInstance } from '../../domain/cluster-state.js';
import { mobilityDomain } from '../../domain/mobility.js';
import { instanceInfos, type InstanceInfo } from '../../projections/read-models.js';
import type { Command } from '../command.js';
import { listCommand } from '../list-command.js';
import { json, keyValues, table } from '../render.js';
import { quote } from '../text.js';
import { viewCommand } from '../view-command.js';
import type { Session } from '../session.js';
import type { GuestState } from '../../domain/ports/hypervisor.js';
import { instanceStatus, runningWhere, type InstanceStatus } from '../../domain/instance-status.js';

type ObservedInstance = InstanceInfo & { status: InstanceStatus };

/** The instances with Ganeti's status words from what their nodes report just now. */
export const observedInstances = async (s: Session): Promise<ObservedInstance[]> => {
  const views = await s.views();
  const observed = await s.observe(views.cluster);
  const where = runningWhere(observed);
  const offline = new Set([...views.cluster.nodes.values()].filter((n) => n.offline).map((n) => n.name));
  return instanceInfos(views).map((i) => ({ ...i, status: instanceStatus({ ...i, primaryOffline: offline.has(i.primaryNode) }, observed, where) }));
};
/** What QEMU says of a kvm instance on its primary node (instance info); nothing for fake guests and local nodes. */
const qemuOf = async (s: Session, i: ObservedInstance): Promise<{ qemu?: GuestState | null; qemuError?: string }> => {
  if (i.hypervisor !== 'kvm' || !s.daemonOf(i.primaryNode)) return {};
  // Just seen not answering (or marked offline): not asked again, and not waited on.
  if (i.status === 'ERROR_nodedown' || i.status === 'ERROR_nodeoffline') return { qemuError: `node ${i.primaryNode} ${i.status === 'ERROR_nodedown' ? 'does not answer' : 'is marked offline'}` };
  try {
    const guest = await s.guests.inspect(i.primaryNode, { name: i.name, uuid: i.uuid, memoryMib: i.memory, vcpus: i.vcpus, hypervisor: 'kvm' });
    return { qemu: guest ?? null };
  } catch (error) {
    return { qemuError: error instanceof Error ? error.message : String(error) };
  }
};
const qemuLine = ({ qemu, qemuError }: { qemu?: GuestState | null; qemuError?: string }, node: string): [string, string][] => {
  if (qemuError !== undefined) return [['QEMU', `unknown: ${qemuError}`]];
  if (qemu === undefined) return [];
  if (qemu === null) return [['QEMU', `none runs on node ${node}`]];
  return [['QEMU', [qemu.status, qemu.pid !== undefined && `pid ${qemu.pid}`, qemu.memoryMib !== undefined && `${qemu.memoryMib} MiB`].filter(Boolean).join(', ')]];
};
const diskUsage = (i: InstanceInfo) => i.disks.reduce((sum, d) => sum + d.size, 0);

/** Its own hypervisor parameters, one line each; none when it has the node's defaults. */
const hvParamLines = (params: Record<string, string>): [string, string][] =>
  Object.entries(params).map(([name, value]): [string, string] => [`  ${name}`, value === '' ? '(empty)' : value]);

export const instanceViews: Command[] = [
  viewCommand({
    path: ['instance', 'mobility'],
    args: ['name'],
    usage: '[--output json]',
    summary: 'list every node with whether the instance could move there, and why or why not',
    view: async (s, { command, args: [name] }) => {
      const state = (await s.views()).cluster;
      const instance = findInstance(state, name);
      if (!instance) {
        s.io.err(`opl: ${command}: instance ${quote(name)} does not exist\n`);
        return 1;
      }
      const domain = mobilityDomain(state, instance);
      s.io.out(
        s.format === 'json'
          ? json({ instance: instance.name, diskTemplate: instance.diskTemplate, nodes: domain })
          : table(['Node', 'Group', 'Candidate', 'Reason'], domain.map((c) => [c.node, c.group, c.candidate ? 'yes' : 'no', c.reason])),
      );
      return 0;
    },
  }),
  listCommand<ObservedInstance>({
    path: ['instance', 'list'],
    summary: 'list instances',
    fields: {
      name: { title: 'Instance', get: (i) => i.name },
      uuid: { title: 'UUID', get: (i) => i.uuid },
      hypervisor: { title: 'Hypervisor', get: (i) => i.hypervisor },
      disk_template: { title: 'Template', get: (i) => i.diskTemplate },
      pnode: { title: 'Primary_node', get: (i) => i.primaryNode },
      snodes: { title: 'Secondary_Nodes', get: (i) => i.secondaryNodes.join(',') || '-' },
      status: { title: 'Status', get: (i) => i.status },
      admin_state: { title: 'InstanceState', get: (i) => i.adminState },
      memory: { title: 'Memory', get: (i) => i.memory, size: true },
      oper_ram: { title: 'Oper_ram', get: (i) => (i.status === 'running' || i.status === 'ERROR_up' ? i.memory : null), size: true },
      vcpus: { title: 'VCPUs', get: (i) => i.vcpus },
      'disk.count': { title: 'Disks', get: (i) => i.disks.length },
      disk_usage: { title: 'DiskUsage', get: diskUsage, size: true },
      tags: { title: 'Tags', get: (i) => i.tags.join(',') || '-' },
    },
    defaults: ['name', 'hypervisor', 'disk_template', 'pnode', 'status', 'memory', 'vcpus'],
    rows: observedInstances,
  }),
  viewCommand({
    path: ['instance', 'info'],
    args: ['name'],
    usage: '[--output json]',
    summary: 'show one instance',
    view: async (s, { command, args: [name] }) => {
      const instance = (await observedInstances(s)).find((i) => i.name === name);
      if (!instance) {
        s.io.err(`opl: ${command}: instance ${quote(name)} does not exist\n`);
        return 1;
      }
      const qemu = await qemuOf(s, instance);
      if (s.format === 'json') {
        s.io.out(json({ ...instance, ...qemu }));
        return 0;
      }
      s.io.out(
        keyValues([
          ['Instance name', instance.name],
          ['UUID', instance.uuid],
          ['State', instance.adminState],
          ['Status', instance.status],
          ['Disk template', instance.diskTemplate],
          ['Primary node', instance.primaryNode],
          ['Secondary nodes', instance.secondaryNodes],
          ['Hypervisor', instance.hypervisor],
          ...hvParamLines(instance.hypervisorParams),
          ...qemuLine(qemu, instance.primaryNode),
          ['Memory (MiB)', instance.memory],
          ['VCPUs', instance.vcpus],
          ['Disks', instance.disks.length === 0 ? '(none)' : instance.disks.length],
          ['Tags', instance.tags],
        ]) + instance.disks.map((d) => `  disk/${d.index}: ${d.size} MiB, ${d.adopted ? 'adopted ' : ''}${d.logicalId}${d.deviceNumber ? ` (device ${d.deviceNumber})` : ''}${d.pool ? ` (pool ${d.pool})` : ''}\n`).join(''),
      );
      return 0;
    },
  }),
];
