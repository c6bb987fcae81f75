import type { HvParams } from './hv-params.js';
import type { HypervisorName } from './hypervisors.js';
import type { ClusterEvent, DiskRecord, OwedUndo } from './events.js';
import type { NodeAddressValue, NodeReported } from './node-address.js';
import { DTS_LOCAL, type DiskTemplate } from './templates.js';

/**
 * The cluster configuration as the `cluster` stream defines it: one consistent state
 * against which cross-object invariants are checked (Ganeti's config.data, with its
 * serial number).
 */
export interface ClusterParams {
  name: string;
  uuid: string;
  enabledDiskTemplates: DiskTemplate[];
  /** Ganeti's ipolicy vcpu-ratio: virtual CPUs a node may carry per physical CPU. */
  vcpuRatio: number;
  /** Ganeti's enabled_hypervisors; the first is the default. */
  enabledHypervisors: HypervisorName[];
  tags: string[];
  /** Mountpoint of the shared file system, the same path on every node. */
  sharedFileStorageDir?: string;
  /** Where adoptable block devices may live; the same paths on every node. */
  blockdevPrefixes: string[];
  /** How long an external allocator may take before it is killed. */
  iallocatorTimeoutSeconds: number;
  /** The allocator used when an opcode names neither a node nor an allocator. */
  defaultIallocator: string;
  /** Ganeti's ndparam oob_program, for nodes without their own: powers them off and on (run on the engine's host). */
  oobProgram?: string;
}

export const DEFAULT_BLOCKDEV_PREFIXES = ['/dev/disk/by-id', '/dev/mapper'];
export interface GroupConfig {
  uuid: string;
  name: string;
  /** Storage pools this group's nodes reach: the mobility domain of `ext` disks. */
  pools: string[];
}
export interface PoolConfig {
  name: string;
  driver: string;
  params: Record<string, string>;
  timeoutSeconds: number;
  /**
   * Where the driver's executables were found when the pool was added: used from then
   * on, whatever the caller's OPL_STORAGE_DRIVER_PATH. Absent for pools recorded
   * before it was kept: those are looked up on the search path.
   */
  driverDir?: string;
}
export interface NodeConfig {
  uuid: string;
  name: string;
  groupUuid: string;
  memoryMib: number;
  cpus: number;
  diskMib: number;
  offline: boolean;
  drained: boolean;
  vmCapable: boolean;
  /** Where its `opl-noded` listens; absent: a local node (a directory on the engine's host). */
  address?: NodeAddressValue;
  reported?: NodeReported;
  /** Its own oob program, over the cluster's. */
  oobProgram?: string;
  /** Ganeti's node.powered, as its oob program last left it (absent: never powered through one). */
  powered?: boolean;
}
export interface InstanceConfig {
  uuid: string;
  name: string;
  diskTemplate: DiskTemplate;
  primaryNodeUuid: string;
  secondaryNodeUuids: string[];
  memoryMib: number;
  vcpus: number;
  hypervisor: HypervisorName;
  /** Its own hypervisor parameters (-H kvm:…); those left out are the node's defaults. */
  hypervisorParams?: HvParams;
  tags: string[];
  adminState: 'up' | 'down';
  disks: DiskRecord[];
  /** Where the disks are attached, per disk, while activated; empty otherwise. */
  activeDevices: string[];
}
/**
 * What instances reserve on a node. Memory is reserved for every instance whose
 * primary the node is, running or not, so that starting a stopped instance never
 * fails for memory (htools counts it the same way for N+1).
 */
export interface NodeUsage {
  memoryMib: number;
  vcpus: number;
  instances: number;
  /** Sizes of node-local (DTS_LOCAL: `file`) disks of the instances whose primary the node is. */
  diskMib: number;
}

/** What a saga holds while it runs: undone, hold by hold, when it ends. */
export type Hold =
  | { kind: 'usage'; nodeUuid: string; delta: NodeUsage }
  | { kind: 'name'; name: string }
  /** A device by one of its keys (`path …`, `device MAJ:MIN`; see devices.ts). */
  | { kind: 'device'; key: string }
  | { kind: 'instance'; instanceUuid: string }
  | { kind: 'node'; nodeUuid: string };

/** A saga whose decision is in the log and whose end is not (yet). */
export interface PendingSaga {
  sagaId: string;
  jobId: number;
  opIndex: number;
  /** The events it decided, recorded once it completes. */
  events: ClusterEvent[];
  holds: Hold[];
}

export interface ClusterState {
  params: ClusterParams | null;
  groups: Map<string, GroupConfig>;
  pools: Map<string, PoolConfig>;
  nodes: Map<string, NodeConfig>;
  instances: Map<string, InstanceConfig>;
  groupByName: Map<string, string>;
  nodeByName: Map<string, string>;
  instanceByName: Map<string, string>;
  usage: Map<string, NodeUsage>;
  /** Sagas begun and not ended, by id; what they hold is indexed below. */
  sagas: Map<string, PendingSaga>;
  /** Instance uuid → the saga working on it: nothing else may touch it meanwhile. */
  busyInstances: Map<string, string>;
  /** Nodes a saga is powering (a fence under way), by saga id: not powered or brought online by another until it ends. */
  busyNodes: Map<string, string>;
  /** Instance names a saga is about to give (a create, a rename) → that saga. */
  heldNames: Map<string, string>;
  /** Devices a saga is adopting, by path and by device number → that saga. */
  heldDevices: Map<string, string>;
  /** Undos nodes owe (their node did not answer when a saga was undone), by id. */
  owedUndos: Map<string, OwedUndo>;
  /** Revision of the last `cluster` event folded in; -1n before the stream exists. */
  revision: bigint;
  /** Ganeti's serial_no: how many configuration changes there have been. */
  serial: number;
}

export const emptyClusterState = (): ClusterState => ({
  params: null,
  groups: new Map(),
  pools: new Map(),
  nodes: new Map(),
  instances: new Map(),
  groupByName: new Map(),
  nodeByName: new Map(),
  instanceByName: new Map(),
  usage: new Map(),
  sagas: new Map(),
  busyInstances: new Map(),
  busyNodes: new Map(),
  heldNames: new Map(),
  heldDevices: new Map(),
  owedUndos: new Map(),
  revision: -1n,
  serial: 0,
});

export const nodeUsage = (state: ClusterState, nodeUuid: string): NodeUsage =>
  state.usage.get(nodeUuid) ?? { memoryMib: 0, vcpus: 0, instances: 0, diskMib: 0 };

export const freeMemoryMib = (state: ClusterState, node: NodeConfig): number =>
  node.memoryMib - nodeUsage(state, node.uuid).memoryMib;

/**
 * Local disk left on a node, or undefined when the node declares none: a node added
 * without `--disk` has `diskMib` 0, which means "not accounted", not "full", so its
 * local disks are limited only by the node itself, as before local disk was counted.
 */
export const freeLocalDiskMib = (state: ClusterState, node: NodeConfig): number | undefined =>
  node.diskMib > 0 ? node.diskMib - nodeUsage(state, node.uuid).diskMib : undefined;

/** What an instance's disks take from its primary node's local disk. */
export const localDiskMib = (instance: Pick<InstanceConfig, 'diskTemplate' | 'disks'>): number =>
  DTS_LOCAL.has(instance.diskTemplate) ? instance.disks.reduce((sum, d) => sum + d.sizeMib, 0) : 0;

export const findGroup = (s: ClusterState, name: string) => lookup(s.groups, s.groupByName, name);
export const findNode = (s: ClusterState, name: string) => lookup(s.nodes, s.nodeByName, name);
export const findInstance = (s: ClusterState, name: string) => lookup(s.instances, s.instanceByName, name);

const lookup = <T>(byUuid: Map<string, T>, byName: Map<string, string>, name: string): T | undefined => {
  const uuid = byName.get(name);
  return uuid === undefined ? undefined : byUuid.get(uuid);
};

export const instancesOnNode = (s: ClusterState, nodeUuid: string): InstanceConfig[] =>
  [...s.instances.values()].filter(
    (i) => i.primaryNodeUuid === nodeUuid || i.secondaryNodeUuids.includes(nodeUuid),
  );

export const instancesUsingPool = (s: ClusterState, pool: string, groupUuid?: string): InstanceConfig[] =>
  [...s.instances.values()].filter(
    (i) =>
      i.disks.some((d) => d.pool === pool) &&
      (groupUuid === undefined || s.nodes.get(i.primaryNodeUuid)?.groupUuid === groupUuid),
  );

/** The oob program that powers NODE off and on: its own, or the cluster's. */
export const oobProgramOf = (state: ClusterState, node: NodeConfig): string | undefined => node.oobProgram ?? state.params?.oobProgram;
