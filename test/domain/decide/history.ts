import type { DiskRecord, EventOf } from '../../../src/domain/events.js';

/**
 * Events as the log holds them, for `given(...)`: uuids are derived from names
 * (`node-n1`), so an expected payload says which object it is about.
 */

export const groupUuid = (name: string) => `group-${name}`;
export const nodeUuid = (name: string) => `node-${name}`;
export const instanceUuid = (name: string) => `instance-${name}`;

export const clusterInitialized = (over: Partial<EventOf<'ClusterInitialized'>['data']> = {}): EventOf<'ClusterInitialized'> => ({
  type: 'ClusterInitialized',
  data: {
    clusterName: 'c1',
    clusterUuid: 'cluster-c1',
    enabledDiskTemplates: ['diskless', 'file', 'sharedfile', 'blockdev', 'ext'],
    vcpuRatio: 4,
    enabledHypervisors: ['fake'],
    blockdevPrefixes: ['/dev/disk/by-id', '/dev/mapper'],
    iallocatorTimeoutSeconds: 60,
    defaultIallocator: 'opl-ialloc',
    ...over,
  },
});

export const groupAdded = (name: string): EventOf<'GroupAdded'> => ({ type: 'GroupAdded', data: { groupUuid: groupUuid(name), groupName: name } });

export const nodeAdded = (
  name: string,
  group: string,
  over: Partial<Pick<EventOf<'NodeAdded'>['data'], 'memoryMib' | 'cpus' | 'diskMib' | 'address'>> = {},
): EventOf<'NodeAdded'> => ({
  type: 'NodeAdded',
  data: { nodeUuid: nodeUuid(name), nodeName: name, groupUuid: groupUuid(group), memoryMib: 4096, cpus: 2, diskMib: 0, ...over },
});

export const nodeModified = (name: string, changes: Omit<EventOf<'NodeModified'>['data'], 'nodeUuid'>): EventOf<'NodeModified'> => ({
  type: 'NodeModified',
  data: { nodeUuid: nodeUuid(name), ...changes },
});

export const poolAdded = (pool: string, driver = 'drv'): EventOf<'PoolAdded'> => ({
  type: 'PoolAdded',
  data: { poolName: pool, driver, params: {}, timeoutSeconds: 300 },
});

export const poolConnected = (group: string, pool: string): EventOf<'PoolConnected'> => ({
  type: 'PoolConnected',
  data: { groupUuid: groupUuid(group), poolName: pool },
});

export const instanceAdded = (
  name: string,
  node: string,
  over: Partial<EventOf<'InstanceAdded'>['data']> = {},
): EventOf<'InstanceAdded'> => ({
  type: 'InstanceAdded',
  data: {
    instanceUuid: instanceUuid(name),
    instanceName: name,
    diskTemplate: 'diskless',
    primaryNodeUuid: nodeUuid(node),
    secondaryNodeUuids: [],
    memoryMib: 1024,
    vcpus: 1,
    hypervisor: 'fake',
    tags: [],
    disks: [],
    ...over,
  },
});

export const instanceStarted = (name: string, node: string): EventOf<'InstanceStarted'> => ({
  type: 'InstanceStarted',
  data: { instanceUuid: instanceUuid(name), nodeUuid: nodeUuid(node) },
});

export const instanceStopped = (name: string, node: string): EventOf<'InstanceStopped'> => ({
  type: 'InstanceStopped',
  data: { instanceUuid: instanceUuid(name), nodeUuid: nodeUuid(node) },
});

export const disksActivated = (name: string, node: string, devices: string[]): EventOf<'DisksActivated'> => ({
  type: 'DisksActivated',
  data: { instanceUuid: instanceUuid(name), nodeUuid: nodeUuid(node), devices },
});

/** A `file` disk as the decider names it: relative to the node's file storage directory. */
export const fileDisk = (instance: string, index: number, sizeMib: number): DiskRecord => ({
  index,
  sizeMib,
  logicalId: `${instance}/disk${index}`,
  params: {},
  adopted: false,
});

export const sharedFileDisk = (instance: string, index: number, sizeMib: number, dir = '/srv/shared'): DiskRecord => ({
  index,
  sizeMib,
  logicalId: `${dir}/${instance}/disk${index}`,
  params: {},
  adopted: false,
});

/** Cluster c1: groups g1 (n1, n2) and g2 (n3); each node 4096 MiB and 2 cpus, no declared local disk. */
export const threeNodes = (init: Partial<EventOf<'ClusterInitialized'>['data']> = {}) => [
  clusterInitialized(init),
  groupAdded('g1'),
  groupAdded('g2'),
  nodeAdded('n1', 'g1'),
  nodeAdded('n2', 'g1'),
  nodeAdded('n3', 'g2'),
];

/** An instance added and started on a node: diskless unless told otherwise. */
export const running = (name: string, node: string, over: Parameters<typeof instanceAdded>[2] = {}) => [
  instanceAdded(name, node, over),
  instanceStarted(name, node),
];
