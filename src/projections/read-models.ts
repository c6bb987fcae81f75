import { type NodeConfig, freeLocalDiskMib, freeMemoryMib, instancesUsingPool, nodeUsage, oobProgramOf } from '../domain/cluster-state.js';
import { formatNodeAddress, type NodeReported } from '../domain/node-address.js';
import type { JobView } from './job-view.js';
import type { Views } from './views.js';

/** The shapes `--output json` prints and `audit replay` compares: plain, camelCase, names not uuids. */
export interface ClusterInfo {
  name: string;
  uuid: string;
  enabledDiskTemplates: string[];
  enabledHypervisors: string[];
  vcpuRatio: number;
  tags: string[];
  sharedFileStorageDir: string | null;
  blockdevPrefixes: string[];
  iallocatorTimeoutSeconds: number;
  defaultIallocator: string;
  /** Ganeti's ndparam oob_program, for nodes without their own. */
  oobProgram: string | null;
  serialNo: number;
  groups: number;
  nodes: number;
  instances: number;
}
export interface GroupInfo {
  name: string;
  uuid: string;
  nodes: string[];
  instances: number;
  pools: string[];
}
export interface PoolInfo {
  name: string;
  driver: string;
  params: Record<string, string>;
  timeoutSeconds: number;
  /** Where its driver was found when the pool was added (or last modified); null: looked up on each call's search path (a pool recorded before this was kept). */
  driverDir: string | null;
  groups: string[];
  instances: string[];
}
export interface NodeInfo {
  name: string;
  uuid: string;
  group: string;
  memoryTotal: number;
  memoryFree: number;
  cpus: number;
  vcpusUsed: number;
  diskTotal: number;
  /** Local disk left for `file` disks, in MiB; null when the node declared no local disk (not accounted). */
  diskFree: number | null;
  offline: boolean;
  drained: boolean;
  vmCapable: boolean;
  primaryInstances: string[];
  /** Where its opl-noded listens (HOST:PORT); absent for a local node. */
  address?: string;
  /** What the node reported when it was added. */
  reported?: NodeReported;
  /** The oob program that powers it (its own or the cluster's), and whose it is. */
  oobProgram?: string;
  oobProgramFrom?: 'node' | 'cluster';
  /** As its oob program last left it; absent: never powered through one. */
  powered?: boolean;
}
export interface InstanceInfo {
  name: string;
  uuid: string;
  diskTemplate: string;
  primaryNode: string;
  secondaryNodes: string[];
  adminState: 'up' | 'down';
  memory: number;
  vcpus: number;
  hypervisor: string;
  /** Its own hypervisor parameters (-H kvm:…), Ganeti's names; those absent are the node's. */
  hypervisorParams: Record<string, string>;
  disks: { index: number; size: number; logicalId: string; pool: string | null; adopted: boolean; deviceNumber: string | null; params: Record<string, string>; device: string | null }[];
  disksActive: boolean;
  tags: string[];
}
export interface JobInfo {
  id: number;
  status: string;
  priority: number;
  dependsOn: number[];
  actor: string;
  submittedAt: string;
  startedAt: string | null;
  endedAt: string | null;
  opcodes: {
    type: string;
    status: string;
    input: unknown;
    startedAt: string | null;
    endedAt: string | null;
    attempts: number;
    result: unknown;
    error: unknown;
    log: { time: string; level: string; message: string }[];
    /** What a live migration this opcode made cost (QEMU's figures), when it made one. */
    migration?: { totalMs: number; downtimeMs: number; bytes: number };
  }[];
}

const byName = <T extends { name: string }>(a: T, b: T): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export const clusterInfo = (views: Views): ClusterInfo | null => {
  const { params } = views.cluster;
  if (!params) return null;
  return {
    name: params.name,
    uuid: params.uuid,
    enabledDiskTemplates: params.enabledDiskTemplates,
    enabledHypervisors: params.enabledHypervisors,
    vcpuRatio: params.vcpuRatio,
    tags: params.tags,
    sharedFileStorageDir: params.sharedFileStorageDir ?? null,
    blockdevPrefixes: params.blockdevPrefixes,
    iallocatorTimeoutSeconds: params.iallocatorTimeoutSeconds,
    defaultIallocator: params.defaultIallocator,
    oobProgram: params.oobProgram ?? null,
    serialNo: views.cluster.serial,
    groups: views.cluster.groups.size,
    nodes: views.cluster.nodes.size,
    instances: views.cluster.instances.size,
  };
};

export const groupInfos = (views: Views): GroupInfo[] => {
  const s = views.cluster;
  return [...s.groups.values()]
    .map((g) => {
      const members = [...s.nodes.values()].filter((n) => n.groupUuid === g.uuid);
      return {
        name: g.name,
        uuid: g.uuid,
        nodes: members.map((n) => n.name).sort(),
        instances: members.reduce((sum, n) => sum + nodeUsage(s, n.uuid).instances, 0),
        pools: [...g.pools].sort(),
      };
    })
    .sort(byName);
};

export const poolInfos = (views: Views): PoolInfo[] => {
  const s = views.cluster;
  return [...s.pools.values()]
    .map((p) => ({
      name: p.name,
      driver: p.driver,
      params: p.params,
      timeoutSeconds: p.timeoutSeconds,
      driverDir: p.driverDir ?? null,
      groups: [...s.groups.values()].filter((g) => g.pools.includes(p.name)).map((g) => g.name).sort(),
      instances: instancesUsingPool(s, p.name).map((i) => i.name).sort(),
    }))
    .sort(byName);
};

export const nodeInfos = (views: Views): NodeInfo[] => {
  const s = views.cluster;
  const primaries = new Map<string, string[]>();
  for (const i of s.instances.values()) {
    const list = primaries.get(i.primaryNodeUuid) ?? [];
    list.push(i.name);
    primaries.set(i.primaryNodeUuid, list);
  }
  const oobOf = (n: NodeConfig) => {
    const program = oobProgramOf(s, n);
    return program === undefined ? {} : { oobProgram: program, oobProgramFrom: n.oobProgram ? ('node' as const) : ('cluster' as const) };
  };
  return [...s.nodes.values()]
    .map((n) => ({
      name: n.name,
      uuid: n.uuid,
      group: s.groups.get(n.groupUuid)?.name ?? n.groupUuid,
      memoryTotal: n.memoryMib,
      memoryFree: freeMemoryMib(s, n),
      cpus: n.cpus,
      vcpusUsed: nodeUsage(s, n.uuid).vcpus,
      diskTotal: n.diskMib,
      diskFree: freeLocalDiskMib(s, n) ?? null,
      offline: n.offline,
      drained: n.drained,
      vmCapable: n.vmCapable,
      primaryInstances: (primaries.get(n.uuid) ?? []).sort(),
      ...(n.address && { address: formatNodeAddress(n.address) }),
      ...(n.reported && { reported: n.reported }),
      ...oobOf(n),
      ...(n.powered !== undefined && { powered: n.powered }),
    }))
    .sort(byName);
};

export const instanceInfos = (views: Views): InstanceInfo[] => {
  const s = views.cluster;
  const nodeName = (uuid: string) => s.nodes.get(uuid)?.name ?? uuid;
  return [...s.instances.values()]
    .map((i) => ({
      name: i.name,
      uuid: i.uuid,
      diskTemplate: i.diskTemplate,
      primaryNode: nodeName(i.primaryNodeUuid),
      secondaryNodes: i.secondaryNodeUuids.map(nodeName),
      adminState: i.adminState,
      memory: i.memoryMib,
      vcpus: i.vcpus,
      hypervisor: i.hypervisor,
      hypervisorParams: i.hypervisorParams ?? {},
      disks: i.disks.map((d) => ({ index: d.index, size: d.sizeMib, logicalId: d.logicalId, pool: d.pool ?? null, adopted: d.adopted, deviceNumber: d.deviceNumber ?? null, params: d.params, device: i.activeDevices[d.index] ?? null })),
      disksActive: i.activeDevices.length > 0,
      tags: i.tags,
    }))
    .sort(byName);
};

/** The figures of the live migration an opcode's saga made and kept (none if it was undone). */
const migrationOf = (op: JobView['opcodes'][number]) => {
  const steps = op.saga?.steps ?? [];
  const sent = steps.find((s) => !s.undo && s.outcome?.migration && !steps.some((u) => u.undo && u.step === s.step));
  return sent?.outcome?.migration ? { migration: sent.outcome.migration } : {};
};

export const jobInfo = (job: JobView): JobInfo => ({
  id: job.id,
  status: job.status,
  priority: job.priority,
  dependsOn: job.dependsOn,
  actor: job.actor,
  submittedAt: job.submittedAt,
  startedAt: job.startedAt ?? null,
  endedAt: job.endedAt ?? null,
  opcodes: job.opcodes.map((op) => ({
    type: op.type,
    status: op.status,
    input: op.input,
    startedAt: op.startedAt ?? null,
    endedAt: op.endedAt ?? null,
    attempts: op.attempts,
    result: op.result ?? null,
    error: op.error ?? null,
    log: op.log,
    ...migrationOf(op),
  })),
});

export const jobInfos = (views: Views): JobInfo[] => [...views.jobs.values()].sort((a, b) => a.id - b.id).map(jobInfo);

/** Everything `audit replay` prints: the views as one document. */
export const allViews = (views: Views) => ({
  position: Number(views.position),
  cluster: clusterInfo(views),
  groups: groupInfos(views),
  pools: poolInfos(views),
  nodes: nodeInfos(views),
  instances: instanceInfos(views),
  jobs: jobInfos(views),
});
