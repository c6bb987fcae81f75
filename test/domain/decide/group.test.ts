import { describe, it } from 'vitest';
import { given } from '../decider-spec.js';
import { clusterInitialized, groupAdded, groupUuid, instanceAdded, poolAdded, poolConnected, threeNodes } from './history.js';

const extDisk = (pool: string) => ({ index: 0, sizeMib: 10, logicalId: 'vol', pool, params: {}, adopted: false });

describe('OP_GROUP_ADD', () => {
  it('adds a group with a new uuid', () =>
    given(clusterInitialized()).when({ type: 'OP_GROUP_ADD', groupName: 'rack1' }).then({ type: 'GroupAdded', data: { groupUuid: 'u1', groupName: 'rack1' } }));

  it('refuses a duplicate group', () =>
    given(clusterInitialized(), groupAdded('g1')).when({ type: 'OP_GROUP_ADD', groupName: 'g1' }).thenRefused('already_exists', "node group 'g1' already exists"));
});

describe('OP_GROUP_RENAME', () => {
  it('renames a group', () =>
    given(...threeNodes())
      .when({ type: 'OP_GROUP_RENAME', groupName: 'g1', newName: 'rack1' })
      .then({ type: 'GroupRenamed', data: { groupUuid: groupUuid('g1'), oldName: 'g1', newName: 'rack1' } }));

  it('refuses renaming a group that does not exist', () =>
    given(...threeNodes()).when({ type: 'OP_GROUP_RENAME', groupName: 'g9', newName: 'x' }).thenRefused('not_found', "node group 'g9' does not exist"));

  it('refuses renaming onto an existing group', () =>
    given(...threeNodes()).when({ type: 'OP_GROUP_RENAME', groupName: 'g1', newName: 'g2' }).thenRefused('already_exists', "node group 'g2' already exists"));
});

describe('OP_GROUP_REMOVE', () => {
  it('removes an empty group', () =>
    given(clusterInitialized(), groupAdded('g1')).when({ type: 'OP_GROUP_REMOVE', groupName: 'g1' }).then({ type: 'GroupRemoved', data: { groupUuid: groupUuid('g1'), groupName: 'g1' } }));

  it('refuses removing a group that does not exist', () =>
    given(clusterInitialized()).when({ type: 'OP_GROUP_REMOVE', groupName: 'g1' }).thenRefused('not_found', "node group 'g1' does not exist"));

  it('refuses removing a group with nodes, naming them', () =>
    given(...threeNodes()).when({ type: 'OP_GROUP_REMOVE', groupName: 'g1' }).thenRefused('in_use', "node group 'g1' still has nodes: n1, n2"));
});

describe('OP_GROUP_SET_PARAMS', () => {
  it('connects a pool', () =>
    given(...threeNodes(), poolAdded('nas1'))
      .when({ type: 'OP_GROUP_SET_PARAMS', groupName: 'g1', connectPool: 'nas1' })
      .then({ type: 'PoolConnected', data: { groupUuid: groupUuid('g1'), poolName: 'nas1' } }));

  it('disconnects a pool no instance of the group uses, even if another group’s do', () =>
    given(...threeNodes(), poolAdded('nas1'), poolConnected('g1', 'nas1'), poolConnected('g2', 'nas1'), instanceAdded('x', 'n3', { diskTemplate: 'ext', disks: [extDisk('nas1')] }))
      .when({ type: 'OP_GROUP_SET_PARAMS', groupName: 'g1', disconnectPool: 'nas1' })
      .then({ type: 'PoolDisconnected', data: { groupUuid: groupUuid('g1'), poolName: 'nas1' } }));

  it('swaps pools in one opcode: disconnected first, then connected', () =>
    given(...threeNodes(), poolAdded('nas1'), poolAdded('nas2'), poolConnected('g1', 'nas1'))
      .when({ type: 'OP_GROUP_SET_PARAMS', groupName: 'g1', disconnectPool: 'nas1', connectPool: 'nas2' })
      .then(
        { type: 'PoolDisconnected', data: { groupUuid: groupUuid('g1'), poolName: 'nas1' } },
        { type: 'PoolConnected', data: { groupUuid: groupUuid('g1'), poolName: 'nas2' } },
      ));

  it('refuses a group that does not exist', () =>
    given(...threeNodes(), poolAdded('nas1')).when({ type: 'OP_GROUP_SET_PARAMS', groupName: 'g9', connectPool: 'nas1' }).thenRefused('not_found', "node group 'g9' does not exist"));

  it('refuses a modify that changes nothing', () =>
    given(...threeNodes())
      .when({ type: 'OP_GROUP_SET_PARAMS', groupName: 'g1' })
      .thenRefused('invalid_argument', 'group modify: nothing to change; give --connect-pool or --disconnect-pool'));

  it('refuses disconnecting a pool that is not connected', () =>
    given(...threeNodes(), poolAdded('nas1'))
      .when({ type: 'OP_GROUP_SET_PARAMS', groupName: 'g1', disconnectPool: 'nas1' })
      .thenRefused('wrong_state', "storage pool 'nas1' is not connected to node group 'g1'"));

  it('refuses disconnecting a pool the group’s instances use, naming them', () =>
    given(...threeNodes(), poolAdded('nas1'), poolConnected('g1', 'nas1'), instanceAdded('x', 'n2', { diskTemplate: 'ext', disks: [extDisk('nas1')] }))
      .when({ type: 'OP_GROUP_SET_PARAMS', groupName: 'g1', disconnectPool: 'nas1' })
      .thenRefused('in_use', "instances of node group 'g1' still use storage pool 'nas1': x"));

  it('refuses connecting a pool that does not exist', () =>
    given(...threeNodes()).when({ type: 'OP_GROUP_SET_PARAMS', groupName: 'g1', connectPool: 'nas9' }).thenRefused('not_found', "storage pool 'nas9' does not exist"));

  it('refuses connecting a pool twice', () =>
    given(...threeNodes(), poolAdded('nas1'), poolConnected('g1', 'nas1'))
      .when({ type: 'OP_GROUP_SET_PARAMS', groupName: 'g1', connectPool: 'nas1' })
      .thenRefused('wrong_state', "storage pool 'nas1' is already connected to node group 'g1'"));
});
