import { describe, it } from 'vitest';
import { given } from '../decider-spec.js';
import type { EventOf } from '../../../src/domain/events.js';
import { clusterInitialized, fileDisk, groupAdded, groupUuid, instanceAdded, instanceUuid, nodeModified, nodeUuid, running, threeNodes } from './history.js';

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
      .thenRefused('invalid_argument', 'node modify: nothing to change; give --offline, --drained, --vm-capable, --node-parameters or --node-powered'));

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

describe('OP_NODE_REPAIR', () => {
  const owedOn = (node: string, ...ids: string[]): EventOf<'SagaUndone'> => ({
    type: 'SagaUndone',
    data: {
      sagaId: `saga-${ids.join('-')}`,
      reason: 'starting instance i9 on node n1 failed: node n1 is unreachable',
      owed: ids.map((id) => ({ id, nodeUuid: nodeUuid(node), jobId: 7, opIndex: 0, step: 1, what: `removing disk 0 of i9 (file i9/disk0) [${id}]`, effect: { kind: 'disk', action: 'remove' } })),
    },
  });

  it('does the undos the node owes, all in one settlement', () =>
    given(...threeNodes(), owedOn('n1', 'o1', 'o2'), owedOn('n2', 'o3'))
      .when({ type: 'OP_NODE_REPAIR', nodeName: 'n1' })
      .then({ type: 'OwedUndosSettled', data: { nodeUuid: nodeUuid('n1'), ids: ['o1', 'o2'], how: 'done' } }));

  it('drops them when the operator gives up on the node, offline or not', () =>
    given(...threeNodes(), owedOn('n1', 'o1'), nodeModified('n1', { offline: true }))
      .when({ type: 'OP_NODE_REPAIR', nodeName: 'n1', giveUp: true })
      .then({ type: 'OwedUndosSettled', data: { nodeUuid: nodeUuid('n1'), ids: ['o1'], how: 'dropped' } }));

  it('has nothing to do for a node that owes nothing, or owes nothing any more', () => {
    given(...threeNodes()).when({ type: 'OP_NODE_REPAIR', nodeName: 'n1' }).then();
    given(...threeNodes(), owedOn('n1', 'o1'), { type: 'OwedUndosSettled', data: { nodeUuid: nodeUuid('n1'), ids: ['o1'], how: 'done' } })
      .when({ type: 'OP_NODE_REPAIR', nodeName: 'n1' })
      .then();
  });

  it('refuses to do them on a node marked offline, saying how to go on', () =>
    given(...threeNodes(), owedOn('n1', 'o1'), nodeModified('n1', { offline: true }))
      .when({ type: 'OP_NODE_REPAIR', nodeName: 'n1' })
      .thenRefused('invalid_argument', "node 'n1' is marked offline: mark it online once it answers ('opl node modify n1 --offline no'), or drop the 1 undo(s) it owes with --give-up"));

  it('drops, not does, an undo made stale since: a disk of that name is an instance\'s again, the guest runs there again', () => {
    const removeDisk: EventOf<'SagaUndone'> = {
      type: 'SagaUndone',
      data: { sagaId: 's9', reason: 'failed', owed: [{ id: 'o9', nodeUuid: nodeUuid('n1'), jobId: 9, opIndex: 0, step: 1, what: 'removing disk 0 of i9', effect: { kind: 'disk', action: 'remove', target: { template: 'file', nodeName: 'n1', disk: { logicalId: 'i9/disk0' } } } }] },
    };
    const stopGuest: EventOf<'SagaUndone'> = {
      type: 'SagaUndone',
      data: { sagaId: 's8', reason: 'failed', owed: [{ id: 'o8', nodeUuid: nodeUuid('n1'), jobId: 8, opIndex: 0, step: 2, what: 'stopping instance i1 on node n1', effect: { kind: 'hypervisor', action: 'stop', nodeName: 'n1', instance: { uuid: instanceUuid('i1'), name: 'i1' } } }] },
    };
    given(...threeNodes(), removeDisk, stopGuest, instanceAdded('i9', 'n1', { diskTemplate: 'file', disks: [fileDisk('i9', 0, 1)] }), ...running('i1', 'n1'))
      .when({ type: 'OP_NODE_REPAIR', nodeName: 'n1' })
      .then({ type: 'OwedUndosSettled', data: { nodeUuid: nodeUuid('n1'), ids: ['o9', 'o8'], how: 'dropped' } });
    // The same undos on another node's instance, or with the instance elsewhere: done.
    given(...threeNodes(), removeDisk, stopGuest, instanceAdded('i9', 'n2', { diskTemplate: 'file', disks: [fileDisk('i9', 0, 1)] }), ...running('i1', 'n2'))
      .when({ type: 'OP_NODE_REPAIR', nodeName: 'n1' })
      .then({ type: 'OwedUndosSettled', data: { nodeUuid: nodeUuid('n1'), ids: ['o9', 'o8'], how: 'done' } });
  });

  it("does a migration's owed resume on the instance's primary, which needs it (the resume asks the destination first)", () => {
    const resumeSource: EventOf<'SagaUndone'> = {
      type: 'SagaUndone',
      data: { sagaId: 's7', reason: 'failed', owed: [{ id: 'o7', nodeUuid: nodeUuid('n1'), jobId: 7, opIndex: 0, step: 3, what: 'letting instance i1 run on node n1 again', effect: { kind: 'hypervisor', action: 'resume', nodeName: 'n1', instance: { uuid: instanceUuid('i1'), name: 'i1' }, destination: 'n2' } }] },
    };
    given(...threeNodes(), resumeSource, ...running('i1', 'n1'))
      .when({ type: 'OP_NODE_REPAIR', nodeName: 'n1' })
      .then({ type: 'OwedUndosSettled', data: { nodeUuid: nodeUuid('n1'), ids: ['o7'], how: 'done' } });
  });

  it('keeps a node that owes undos from being removed', () =>
    given(...threeNodes(), owedOn('n3', 'o1'))
      .when({ type: 'OP_NODE_REMOVE', nodeName: 'n3' })
      .thenRefused('in_use', "node 'n3' owes 1 undo(s) of failed jobs: 'opl node repair n3' does them, or --give-up drops them"));
});
