import { describe, it } from 'vitest';
import { given } from '../decider-spec.js';
import { clusterInitialized, fileDisk, instanceAdded, poolAdded, poolConnected, running, threeNodes } from './history.js';

describe('OP_CLUSTER_INIT', () => {
  it('initialises the cluster with the opcode defaults', () =>
    given()
      .when({ type: 'OP_CLUSTER_INIT', clusterName: 'prod' })
      .then(clusterInitialized({ clusterName: 'prod', clusterUuid: 'u1' })));

  it('records a shared file storage directory and the parameters given', () =>
    given()
      .when({ type: 'OP_CLUSTER_INIT', clusterName: 'prod', sharedFileStorageDir: '/srv/shared', vcpuRatio: 2, enabledDiskTemplates: ['diskless'], defaultIallocator: 'hail' })
      .then(clusterInitialized({ clusterName: 'prod', clusterUuid: 'u1', sharedFileStorageDir: '/srv/shared', vcpuRatio: 2, enabledDiskTemplates: ['diskless'], defaultIallocator: 'hail' })));

  it('refuses a second init', () =>
    given(clusterInitialized()).when({ type: 'OP_CLUSTER_INIT', clusterName: 'x' }).thenRefused('wrong_state', "the cluster is already initialised as 'c1'"));
});

describe('before the cluster is initialised', () => {
  it.each([
    { type: 'OP_GROUP_ADD', groupName: 'g' },
    { type: 'OP_CLUSTER_SET_PARAMS', vcpuRatio: 2 },
    { type: 'OP_TEST_DELAY', durationSeconds: 0 },
  ] as const)('refuses $type', (opcode) =>
    given().when(opcode).thenRefused('wrong_state', "the cluster is not initialised; run 'opl cluster init NAME' first"));
});

describe('OP_CLUSTER_SET_PARAMS', () => {
  it('records only the parameters given', () =>
    given(clusterInitialized())
      .when({ type: 'OP_CLUSTER_SET_PARAMS', vcpuRatio: 8, tags: ['prod'], blockdevPrefixes: ['/dev/san'] })
      .then({ type: 'ClusterModified', data: { vcpuRatio: 8, tags: ['prod'], blockdevPrefixes: ['/dev/san'] } }));

  it('adds a storage pool with the driver defaults', () =>
    given(clusterInitialized())
      .when({ type: 'OP_CLUSTER_SET_PARAMS', addPool: { poolName: 'nas1', driver: 'filepool', params: { dir: '/srv/nas1' } } })
      .then({ type: 'PoolAdded', data: { poolName: 'nas1', driver: 'filepool', params: { dir: '/srv/nas1' }, timeoutSeconds: 300 } }));

  it('replaces a pool in one opcode: removed first, then added again', () =>
    given(clusterInitialized(), poolAdded('nas1', 'old'))
      .when({ type: 'OP_CLUSTER_SET_PARAMS', removePool: 'nas1', addPool: { poolName: 'nas1', driver: 'new', timeoutSeconds: 30 } })
      .then({ type: 'PoolRemoved', data: { poolName: 'nas1' } }, { type: 'PoolAdded', data: { poolName: 'nas1', driver: 'new', params: {}, timeoutSeconds: 30 } }));

  it('enables templates no instance stops using', () =>
    given(...threeNodes(), ...running('i1', 'n1'))
      .when({ type: 'OP_CLUSTER_SET_PARAMS', enabledDiskTemplates: ['diskless', 'file'] })
      .then({ type: 'ClusterModified', data: { enabledDiskTemplates: ['diskless', 'file'] } }));

  it('refuses a modify that changes nothing', () =>
    given(clusterInitialized()).when({ type: 'OP_CLUSTER_SET_PARAMS' }).thenRefused('invalid_argument', 'cluster modify: nothing to change; give at least one parameter'));

  it('refuses disabling a template still in use', () =>
    given(...threeNodes(), ...running('i1', 'n1'))
      .when({ type: 'OP_CLUSTER_SET_PARAMS', enabledDiskTemplates: ['plain'] })
      .thenRefused('in_use', "disk template 'diskless' is still used by instance 'i1'"));

  it('refuses removing a pool that does not exist', () =>
    given(clusterInitialized()).when({ type: 'OP_CLUSTER_SET_PARAMS', removePool: 'nas9' }).thenRefused('not_found', "storage pool 'nas9' does not exist"));

  it('refuses removing a pool that instances use, naming them', () =>
    given(
      ...threeNodes(),
      poolAdded('nas1'),
      poolConnected('g1', 'nas1'),
      instanceAdded('b', 'n1', { diskTemplate: 'ext', disks: [{ index: 0, sizeMib: 10, logicalId: 'v1', pool: 'nas1', params: {}, adopted: false }] }),
      instanceAdded('a', 'n2', { diskTemplate: 'ext', disks: [{ index: 0, sizeMib: 10, logicalId: 'v2', pool: 'nas1', params: {}, adopted: false }] }),
    )
      .when({ type: 'OP_CLUSTER_SET_PARAMS', removePool: 'nas1' })
      .thenRefused('in_use', "storage pool 'nas1' is used by instances: a, b"));

  it('records where the engine found the pool\'s driver', () =>
    given(clusterInitialized())
      .when({ type: 'OP_CLUSTER_SET_PARAMS', addPool: { poolName: 'nas1', driver: 'filepool', driverDir: '/opt/drivers/filepool' } })
      .then({ type: 'PoolAdded', data: { poolName: 'nas1', driver: 'filepool', params: {}, timeoutSeconds: 300, driverDir: '/opt/drivers/filepool' } }));

  it('modifies a pool: its driver found again and its timeout', () =>
    given(clusterInitialized(), poolAdded('nas1'))
      .when({ type: 'OP_CLUSTER_SET_PARAMS', modifyPool: { poolName: 'nas1', driverDir: '/opt/drv', timeoutSeconds: 30 } })
      .then({ type: 'PoolModified', data: { poolName: 'nas1', driverDir: '/opt/drv', timeoutSeconds: 30 } }));

  it('refuses modifying a pool that does not exist, or is removed in the same opcode', () => {
    given(clusterInitialized()).when({ type: 'OP_CLUSTER_SET_PARAMS', modifyPool: { poolName: 'nas9' } }).thenRefused('not_found', "storage pool 'nas9' does not exist");
    given(clusterInitialized(), poolAdded('nas1'))
      .when({ type: 'OP_CLUSTER_SET_PARAMS', removePool: 'nas1', modifyPool: { poolName: 'nas1' } })
      .thenRefused('not_found', "storage pool 'nas1' does not exist");
  });

  it('refuses adding a pool that exists', () =>
    given(clusterInitialized(), poolAdded('nas1'))
      .when({ type: 'OP_CLUSTER_SET_PARAMS', addPool: { poolName: 'nas1', driver: 'x' } })
      .thenRefused('already_exists', "storage pool 'nas1' already exists"));
});

describe('OP_TEST_DELAY', () => {
  it('changes nothing in the configuration', () =>
    given(...threeNodes(), instanceAdded('f1', 'n1', { diskTemplate: 'file', disks: [fileDisk('f1', 0, 1)] }))
      .when({ type: 'OP_TEST_DELAY', durationSeconds: 5, lockInstances: ['f1'] })
      .then());

  it('refuses to lock an instance that does not exist', () =>
    given(...threeNodes())
      .when({ type: 'OP_TEST_DELAY', durationSeconds: 5, lockInstances: ['nope'] })
      .thenRefused('not_found', "instance 'nope' does not exist"));
});


describe('OP_CLUSTER_DESTROY', () => {
  it('destroys an empty cluster, naming it', () =>
    given(clusterInitialized(), { type: 'GroupAdded', data: { groupUuid: 'g', groupName: 'g' } })
      .when({ type: 'OP_CLUSTER_DESTROY', clusterName: 'c1' })
      .then({ type: 'ClusterDestroyed', data: { clusterName: 'c1', clusterUuid: 'cluster-c1' } }));

  it('refuses while nodes are left', () =>
    given(...threeNodes()).when({ type: 'OP_CLUSTER_DESTROY', clusterName: 'c1' }).thenRefused('in_use', "cluster 'c1' still has nodes: n1, n2, n3; remove them first"));

  it('refuses another cluster\'s name: the wrong data dir is not destroyed', () =>
    given(clusterInitialized()).when({ type: 'OP_CLUSTER_DESTROY', clusterName: 'prod' }).thenRefused('invalid_argument', "cluster destroy: this cluster is 'c1', not 'prod'"));

  it('lets a new cluster be initialised afterwards', () =>
    given(clusterInitialized(), { type: 'ClusterDestroyed', data: { clusterName: 'c1', clusterUuid: 'cluster-c1' } })
      .when({ type: 'OP_CLUSTER_INIT', clusterName: 'again' })
      .then(clusterInitialized({ clusterName: 'again', clusterUuid: 'u1' })));
});
