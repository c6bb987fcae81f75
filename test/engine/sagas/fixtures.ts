import { evolveCluster } from '../../../src/domain/cluster-evolve.js';
import { emptyClusterState, type ClusterState } from '../../../src/domain/cluster-state.js';
import type { ClusterEvent, DiskRecord, EventOf } from '../../../src/domain/events.js';
import type { DiskTarget } from '../../../src/domain/ports/disk-storage.js';
import type { DiskTemplate } from '../../../src/domain/templates.js';

/** A cluster state made by folding these events, one revision each, as the projector does. */
export const fold = (...events: ClusterEvent[]): ClusterState => foldInto(emptyClusterState(), ...events);

export const foldInto = (state: ClusterState, ...events: ClusterEvent[]): ClusterState => {
  for (const event of events) evolveCluster(state, event, state.revision + 1n);
  return state;
};

export const NAS = { name: 'nas1', driver: 'foostore', params: { export: '/exports' }, timeoutSeconds: 30 };

/**
 * Group g1 holds nodes n1, n2, n3 and reaches pool nas1; group g2 holds n4 alone.
 * Uuids are readable: node n1 is `node-n1`, group g1 is `group-g1`.
 */
export const clusterEvents = (): ClusterEvent[] => [
  { type: 'ClusterInitialized', data: { clusterName: 'c1', clusterUuid: 'cluster-1', enabledDiskTemplates: ['diskless', 'file', 'sharedfile', 'blockdev', 'ext'], vcpuRatio: 4, sharedFileStorageDir: '/srv/shared' } },
  { type: 'GroupAdded', data: { groupUuid: 'group-g1', groupName: 'g1' } },
  { type: 'GroupAdded', data: { groupUuid: 'group-g2', groupName: 'g2' } },
  { type: 'PoolAdded', data: { poolName: NAS.name, driver: NAS.driver, params: NAS.params, timeoutSeconds: NAS.timeoutSeconds } },
  { type: 'PoolConnected', data: { groupUuid: 'group-g1', poolName: NAS.name } },
  ...['n1', 'n2', 'n3'].map((n): ClusterEvent => ({ type: 'NodeAdded', data: { nodeUuid: `node-${n}`, nodeName: n, groupUuid: 'group-g1', memoryMib: 8192, cpus: 4, diskMib: 100_000 } })),
  { type: 'NodeAdded', data: { nodeUuid: 'node-n4', nodeName: 'n4', groupUuid: 'group-g2', memoryMib: 8192, cpus: 4, diskMib: 100_000 } },
];

export const disk = (index: number, logicalId: string, more: Partial<DiskRecord> = {}): DiskRecord => ({ index, sizeMib: 1024, logicalId, params: {}, adopted: false, ...more });

export const instanceAdded = (name: string, diskTemplate: DiskTemplate, disks: DiskRecord[], primary = 'n1', more: Partial<EventOf<'InstanceAdded'>['data']> = {}): EventOf<'InstanceAdded'> => ({
  type: 'InstanceAdded',
  data: { instanceUuid: `uuid-${name}`, instanceName: name, diskTemplate, primaryNodeUuid: `node-${primary}`, secondaryNodeUuids: [], memoryMib: 1024, vcpus: 2, hypervisor: 'fake', tags: ['web'], disks, ...more },
});

/** The cluster with these instances in it (recorded as done: no saga pending). */
export const clusterWith = (...events: ClusterEvent[]): ClusterState => fold(...clusterEvents(), ...events);

/** What the storage is told about disk `d` of an instance, on `node`; g1's online peers unless said. */
export const target = (name: string, template: DiskTemplate, d: DiskRecord, node = 'n1', peers = ['n1', 'n2', 'n3'], tags = ['web']): DiskTarget => ({
  nodeName: node,
  template,
  instance: { name, uuid: `uuid-${name}`, tags },
  disk: d,
  peers,
  ...(d.pool !== undefined && { pool: NAS }),
});

export const hv = (name: string, memoryMib = 1024, vcpus = 2) => ({ name, uuid: `uuid-${name}`, memoryMib, vcpus });
