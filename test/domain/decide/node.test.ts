import { describe, it } from 'vitest';
import { given } from '../decider-spec.js';
import { clusterInitialized, groupAdded, groupUuid, instanceAdded, nodeModified, nodeUuid, running, threeNodes } from './history.js';

describe('OP_NODE_ADD', () => {
  it('adds a node; without --disk its local disk is 0, not accounted', () =>
    given(clusterInitialized(), groupAdded('g1'))
      .when({ type: 'OP_NODE_ADD', nodeName: 'n1', groupName: 'g1', memoryMib: 65536, cpus: 16 })
      .then({ type: 'NodeAdded', data: { nodeUuid: 'u1', nodeName: 'n1', groupUuid: groupUuid('g1'), memoryMib: 65536, cpus: 16, diskMib: 0 } }));

  it('records the local disk a node declares', () =>
    given(clusterInitialized(), groupAdded('g1'))
      .when({ type: 'OP_NODE_ADD', nodeName: 'n1', groupName: 'g1', memoryMib: 1024, cpus: 1, diskMib: 10240 })
      .then({ type: 'NodeAdded', data: { nodeUuid: 'u1', nodeName: 'n1', groupUuid: groupUuid('g1'), memoryMib: 1024, cpus: 1, diskMib: 10240 } }));

  it('refuses a duplicate node', () =>
    given(...threeNodes()).when({ type: 'OP_NODE_ADD', nodeName: 'n1', groupName: 'g1', memoryMib: 1, cpus: 1 }).thenRefused('already_exists', "node 'n1' already exists"));

  it('refuses a node in a group that does not exist', () =>
    given(...threeNodes()).when({ type: 'OP_NODE_ADD', nodeName: 'n9', groupName: 'nope', memoryMib: 1, cpus: 1 }).thenRefused('not_found', "node group 'nope' does not exist"));
});

describe('OP_NODE_SET_PARAMS', () => {
  it('drains a node', () =>
    given(...threeNodes()).when({ type: 'OP_NODE_SET_PARAMS', nodeName: 'n2', drained: true }).then({ type: 'NodeModified', data: { nodeUuid: nodeUuid('n2'), drained: true } }));

  it('ends draining when a node goes offline (Ganeti roles are exclusive)', () =>
    given(...threeNodes(), nodeModified('n2', { drained: true }))
      .when({ type: 'OP_NODE_SET_PARAMS', nodeName: 'n2', offline: true })
      .then({ type: 'NodeModified', data: { nodeUuid: nodeUuid('n2'), offline: true, drained: false } }));

  it('ends offline when a node is drained', () =>
    given(...threeNodes(), nodeModified('n2', { offline: true }))
      .when({ type: 'OP_NODE_SET_PARAMS', nodeName: 'n2', drained: true })
      .then({ type: 'NodeModified', data: { nodeUuid: nodeUuid('n2'), drained: true, offline: false } }));

  it('offlines a node whose instances are stopped', () =>
    given(...threeNodes(), instanceAdded('i1', 'n1'))
      .when({ type: 'OP_NODE_SET_PARAMS', nodeName: 'n1', offline: true, vmCapable: false })
      .then({ type: 'NodeModified', data: { nodeUuid: nodeUuid('n1'), offline: true, vmCapable: false } }));

  it('refuses a node that does not exist', () =>
    given(...threeNodes()).when({ type: 'OP_NODE_SET_PARAMS', nodeName: 'n9', drained: true }).thenRefused('not_found', "node 'n9' does not exist"));

  it('refuses a modify that changes nothing', () =>
    given(...threeNodes())
      .when({ type: 'OP_NODE_SET_PARAMS', nodeName: 'n1' })
      .thenRefused('invalid_argument', 'node modify: nothing to change; give --offline, --drained or --vm-capable'));

  it('refuses a node both offline and drained', () =>
    given(...threeNodes())
      .when({ type: 'OP_NODE_SET_PARAMS', nodeName: 'n1', offline: true, drained: true })
      .thenRefused('invalid_argument', 'node modify: a node is either offline or drained, not both'));

  it('offlines a node with a running instance: that is how a dead node is declared (Ganeti ERROR_nodeoffline)', () =>
    given(...threeNodes(), ...running('i1', 'n1'))
      .when({ type: 'OP_NODE_SET_PARAMS', nodeName: 'n1', offline: true })
      .then({ type: 'NodeModified', data: { nodeUuid: nodeUuid('n1'), offline: true } }));
});

describe('OP_NODE_REMOVE', () => {
  it('removes a node without instances', () =>
    given(...threeNodes()).when({ type: 'OP_NODE_REMOVE', nodeName: 'n3' }).then({ type: 'NodeRemoved', data: { nodeUuid: nodeUuid('n3'), nodeName: 'n3' } }));

  it('refuses a node that does not exist', () =>
    given(...threeNodes()).when({ type: 'OP_NODE_REMOVE', nodeName: 'n9' }).thenRefused('not_found', "node 'n9' does not exist"));

  it('refuses removing a node that hosts instances, stopped ones too', () =>
    given(...threeNodes(), ...running('i1', 'n1'), instanceAdded('i2', 'n1'))
      .when({ type: 'OP_NODE_REMOVE', nodeName: 'n1' })
      .thenRefused('in_use', "node 'n1' still hosts instances: i1, i2"));
});
