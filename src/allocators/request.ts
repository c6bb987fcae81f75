import type { ClusterState, InstanceConfig, NodeConfig } from '../domain/cluster-state.js';
import { candidates, placementDomain } from '../domain/mobility.js';
import type { OpcodeOf } from '../domain/opcodes.js';

/**
 * Ganeti's iallocator protocol, version 2, built from the cluster state, with the
 * shared-storage keys of DESIGN.md (`storage_pools` per group and instance,
 * `mobility_domain` per request). Allocators unaware of those keys still answer
 * right: nodes outside the mobility domain are left out of the request.
 */
export type IallocatorRequest = Record<string, unknown> & { request: Record<string, unknown> };

const ispec = (memory: number, cpus: number, disk: number, disks: number) => ({
  'memory-size': memory,
  'cpu-count': cpus,
  'disk-size': disk,
  'disk-count': disks,
  'nic-count': 8,
  'spindle-use': 8,
});

/** Ganeti's default instance policy, with our vcpu-ratio and enabled templates. */
const ipolicy = (state: ClusterState) => ({
  minmax: [{ min: { ...ispec(128, 1, 0, 0), 'nic-count': 0, 'spindle-use': 0 }, max: ispec(32 * 1024 * 1024, 512, 16 * 1024 * 1024, 16) }],
  std: { ...ispec(128, 1, 1024, 1), 'nic-count': 1, 'spindle-use': 1 },
  'disk-templates': state.params!.enabledDiskTemplates,
  'vcpu-ratio': state.params!.vcpuRatio,
  'spindle-ratio': 32.0,
});

const diskTotal = (i: Pick<InstanceConfig, 'disks' | 'diskTemplate'>): number =>
  i.disks.reduce((sum, d) => sum + d.sizeMib, 0);

const instanceEntry = (state: ClusterState, i: InstanceConfig) => ({
  disk_space_total: diskTotal(i),
  disks: i.disks.map((d) => ({ size: d.sizeMib, mode: 'rw' })),
  memory: i.memoryMib,
  vcpus: i.vcpus,
  tags: i.tags,
  disk_template: i.diskTemplate,
  spindle_use: 1,
  nics: [],
  admin_state: i.adminState,
  should_run: i.adminState === 'up',
  nodes: [i.primaryNodeUuid, ...i.secondaryNodeUuids].map((u) => state.nodes.get(u)?.name ?? u),
  hypervisor: i.hypervisor,
  os: 'none',
  storage_pools: [...new Set(i.disks.map((d) => d.pool).filter((p): p is string => p !== undefined))],
});

const nodeEntry = (n: NodeConfig, onNode: readonly InstanceConfig[]) => {
  const used = onNode.reduce((sum, i) => sum + i.memoryMib, 0);
  const usedDisk = onNode.filter((i) => i.diskTemplate === 'file').reduce((sum, i) => sum + diskTotal(i), 0);
  return {
    group: n.groupUuid,
    offline: n.offline,
    drained: n.drained,
    vm_capable: n.vmCapable,
    master_candidate: true,
    tags: [],
    ndparams: { exclusive_storage: false, spindle_count: 1 },
    total_memory: n.memoryMib,
    reserved_memory: 0,
    free_memory: n.memoryMib - used,
    i_pri_memory: used,
    i_pri_up_memory: onNode.filter((i) => i.adminState === 'up').reduce((sum, i) => sum + i.memoryMib, 0),
    total_disk: n.diskMib,
    free_disk: Math.max(0, n.diskMib - usedDisk),
    total_cpus: n.cpus,
    reserved_cpus: 0,
    total_spindles: 1,
    free_spindles: 1,
    primary_ip: '127.0.0.1',
    secondary_ip: '127.0.0.1',
  };
};

/** The common part: groups, the given nodes, and the instances living on them. */
const cluster = (state: ClusterState, nodeUuids: ReadonlySet<string>) => {
  const nodes = [...state.nodes.values()].filter((n) => nodeUuids.has(n.uuid)).sort((a, b) => a.name.localeCompare(b.name));
  const primaries = new Map<string, InstanceConfig[]>();
  for (const i of state.instances.values()) {
    const list = primaries.get(i.primaryNodeUuid) ?? [];
    list.push(i);
    primaries.set(i.primaryNodeUuid, list);
  }
  const groups = new Set(nodes.map((n) => n.groupUuid));
  return {
    version: 2,
    cluster_name: state.params!.name,
    cluster_tags: state.params!.tags,
    enabled_hypervisors: state.params!.enabledHypervisors,
    ipolicy: ipolicy(state),
    nodegroups: Object.fromEntries(
      [...state.groups.values()]
        .filter((g) => groups.has(g.uuid))
        .map((g) => [g.uuid, { name: g.name, alloc_policy: 'preferred', networks: [], ipolicy: ipolicy(state), tags: [], storage_pools: g.pools }]),
    ),
    nodes: Object.fromEntries(nodes.map((n) => [n.name, nodeEntry(n, primaries.get(n.uuid) ?? [])])),
    instances: Object.fromEntries(
      [...state.instances.values()]
        .filter((i) => [i.primaryNodeUuid, ...i.secondaryNodeUuids].every((u) => nodeUuids.has(u)))
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((i) => [i.name, instanceEntry(state, i)]),
    ),
  };
};

/** Where should a new instance go: one node of the nodes that reach its storage. */
export const allocateRequest = (state: ClusterState, op: OpcodeOf<'OP_INSTANCE_CREATE'>): IallocatorRequest => {
  const pools = [...new Set(op.disks.map((d) => d.pool).filter((p): p is string => p !== undefined))];
  const domain = placementDomain(state, op.diskTemplate, pools, op.hypervisor ?? state.params?.enabledHypervisors[0]);
  const size = op.disks.reduce((sum, d) => sum + (d.sizeMib ?? 0), 0);
  return {
    ...cluster(state, new Set(domain.map((name) => state.nodeByName.get(name)!))),
    request: {
      type: 'allocate',
      name: op.instanceName,
      required_nodes: 1,
      disk_space_total: size,
      disks: op.disks.map((d) => ({ size: d.sizeMib ?? 0, mode: 'rw' })),
      nics: [],
      vcpus: op.vcpus,
      memory: op.memoryMib,
      disk_template: op.diskTemplate,
      os: 'none',
      tags: op.tags,
      hypervisor: op.hypervisor ?? state.params!.enabledHypervisors[0]!,
      spindle_use: 1,
      storage_pools: pools,
      mobility_domain: domain,
    },
  };
};

/** Where should this instance go instead of its primary: one node of its mobility domain. */
export const relocateRequest = (state: ClusterState, instance: InstanceConfig): IallocatorRequest => {
  const domain = candidates(state, instance);
  const include = new Set([instance.primaryNodeUuid, ...domain.map((name) => state.nodeByName.get(name)!)]);
  const from = state.nodes.get(instance.primaryNodeUuid)!.name;
  return {
    ...cluster(state, include),
    request: {
      type: 'relocate',
      name: instance.name,
      required_nodes: 1,
      disk_space_total: diskTotal(instance),
      relocate_from: [from],
      mobility_domain: domain,
    },
  };
};

/** Every node of the groups given (all groups when none), for requests about many instances. */
const nodesOfGroups = (state: ClusterState, groupUuids?: ReadonlySet<string>) =>
  new Set([...state.nodes.values()].filter((n) => !groupUuids || groupUuids.has(n.groupUuid)).map((n) => n.uuid));

/**
 * Move these instances off their node: Ganeti's node-evacuate. The cluster part
 * holds the instances' groups, so the allocator can see every possible target.
 */
export const nodeEvacuateRequest = (state: ClusterState, instances: readonly InstanceConfig[], mode: 'primary-only' | 'secondary-only' | 'all' = 'all'): IallocatorRequest => {
  const groups = new Set(instances.map((i) => state.nodes.get(i.primaryNodeUuid)!.groupUuid));
  return {
    ...cluster(state, nodesOfGroups(state, groups)),
    request: { type: 'node-evacuate', instances: instances.map((i) => i.name), evac_mode: mode },
  };
};

/** Move these instances to one of the target groups (any other group when none is named). */
export const changeGroupRequest = (state: ClusterState, instances: readonly InstanceConfig[], targetGroupUuids: readonly string[]): IallocatorRequest => ({
  ...cluster(state, nodesOfGroups(state)),
  request: { type: 'change-group', instances: instances.map((i) => i.name), target_groups: [...targetGroupUuids] },
});

/** Place several new instances at once: Ganeti's multi-allocate. */
export const multiAllocateRequest = (state: ClusterState, ops: readonly OpcodeOf<'OP_INSTANCE_CREATE'>[]): IallocatorRequest => {
  const singles = ops.map((op) => allocateRequest(state, op));
  const domain = new Set(singles.flatMap((r) => (r.request.mobility_domain as string[]).map((name) => state.nodeByName.get(name)!)));
  return {
    ...cluster(state, domain),
    request: { type: 'multi-allocate', instances: singles.map((r) => r.request) },
  };
};
