import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evolveCluster } from '../../src/domain/cluster-evolve.js';
import { type ClusterState, findInstance, findNode, freeMemoryMib, localDiskMib, nodeUsage } from '../../src/domain/cluster-state.js';
import { decideCluster } from '../../src/domain/decide/index.js';
import type { ClusterEvent } from '../../src/domain/events.js';
import { Opcode } from '../../src/domain/opcodes.js';
import { emptyViews } from '../../src/projections/views.js';
import { nodeInfos } from '../../src/projections/read-models.js';
import { deterministicUuids, stateOf, type OpcodeInput } from './decider-spec.js';
import {
  clusterInitialized,
  fileDisk,
  groupAdded,
  instanceAdded,
  instanceUuid,
  nodeAdded,
  nodeUuid,
  running,
  sharedFileDisk,
  threeNodes,
} from './decide/history.js';

const diskUsed = (state: ClusterState, node: string) => nodeUsage(state, nodeUuid(node)).diskMib;
const grown = (name: string, index: number, sizeMib: number): ClusterEvent => ({ type: 'DiskGrown', data: { instanceUuid: instanceUuid(name), index, sizeMib } });

describe('evolve: what instances reserve on their primary node', () => {
  const history = [
    ...threeNodes({ sharedFileStorageDir: '/srv/shared' }),
    instanceAdded('f1', 'n1', { diskTemplate: 'file', disks: [fileDisk('f1', 0, 64), fileDisk('f1', 1, 36)] }),
    instanceAdded('sf1', 'n1', { diskTemplate: 'sharedfile', disks: [sharedFileDisk('sf1', 0, 5000)] }),
  ];

  it('counts local disks only, not shared storage', () => {
    expect(diskUsed(stateOf(history), 'n1')).toBe(100);
  });

  it('follows a local disk that grows, and ignores shared ones that do', () => {
    expect(diskUsed(stateOf([...history, grown('f1', 1, 136), grown('sf1', 0, 9000)]), 'n1')).toBe(200);
  });

  it('gives the disk back when the instance is removed', () => {
    const state = stateOf([...history, { type: 'InstanceRemoved', data: { instanceUuid: instanceUuid('f1'), instanceName: 'f1' } }]);
    expect(diskUsed(state, 'n1')).toBe(0);
  });

  it('moves the count with the primary, should a move ever be recorded', () => {
    const state = stateOf([
      ...history,
      { type: 'InstanceMoved', data: { instanceUuid: instanceUuid('f1'), fromNodeUuid: nodeUuid('n1'), toNodeUuid: nodeUuid('n2'), how: 'failover', running: false, sourceOffline: false, ignoreSourceFailures: false } },
    ]);
    expect([diskUsed(state, 'n1'), diskUsed(state, 'n2')]).toEqual([0, 100]);
  });

  it('reserves memory for stopped instances too, and frees it on removal', () => {
    const full = stateOf([...threeNodes(), instanceAdded('i1', 'n1', { memoryMib: 1024 }), instanceAdded('i2', 'n1', { memoryMib: 3072 })]);
    expect(freeMemoryMib(full, findNode(full, 'n1')!)).toBe(0);
    const freed = stateOf([...threeNodes(), ...running('i1', 'n1', { memoryMib: 4096 }), { type: 'InstanceRemoved', data: { instanceUuid: instanceUuid('i1'), instanceName: 'i1' } }]);
    expect(freeMemoryMib(freed, findNode(freed, 'n1')!)).toBe(4096);
  });
});

describe('evolve: names and serial numbers', () => {
  it('renames a group so its nodes follow', () => {
    const state = stateOf([...threeNodes(), { type: 'GroupRenamed', data: { groupUuid: 'group-g1', oldName: 'g1', newName: 'rack1' } }]);
    expect(state.groups.get(findNode(state, 'n1')!.groupUuid)!.name).toBe('rack1');
    expect(state.groupByName.has('g1')).toBe(false);
  });

  it('renames an instance and its disks to the logical ids the decision gave', () => {
    const state = stateOf([
      ...threeNodes({ sharedFileStorageDir: '/srv/shared' }),
      instanceAdded('sf1', 'n1', { diskTemplate: 'sharedfile', disks: [sharedFileDisk('sf1', 0, 1), sharedFileDisk('sf1', 1, 1)] }),
      { type: 'InstanceRenamed', data: { instanceUuid: instanceUuid('sf1'), oldName: 'sf1', newName: 'sf2', logicalIds: ['/srv/shared/sf2/disk0', '/srv/shared/sf2/disk1'] } },
    ]);
    expect(findInstance(state, 'sf1')).toBeUndefined();
    expect(findInstance(state, 'sf2')!.disks.map((d) => d.logicalId)).toEqual(['/srv/shared/sf2/disk0', '/srv/shared/sf2/disk1']);
  });

  it('counts every configuration change in the serial number', () => {
    expect(stateOf([...threeNodes(), ...running('i1', 'n1')]).serial).toBe(8);
  });
});

describe('node info: local disk', () => {
  it('shows free local disk for nodes that declared it, null for those that did not', () => {
    const views = emptyViews();
    views.cluster = stateOf([
      clusterInitialized(),
      groupAdded('g1'),
      nodeAdded('n1', 'g1', { diskMib: 1000 }),
      nodeAdded('n2', 'g1'),
      instanceAdded('f1', 'n1', { diskTemplate: 'file', disks: [fileDisk('f1', 0, 600)] }),
      instanceAdded('f2', 'n2', { diskTemplate: 'file', disks: [fileDisk('f2', 0, 600)] }),
    ]);
    expect(nodeInfos(views).map((n) => [n.name, n.diskTotal, n.diskFree])).toEqual([
      ['n1', 1000, 400],
      ['n2', 0, null],
    ]);
  });
});

/**
 * Whatever operators ask, in any order: what evolve counts on each node is what its
 * instances hold, and a node that declared local disk is never given more than it has.
 */
describe('property: decide and evolve keep node usage right', () => {
  const nodes = ['n1', 'n2', 'n3'];
  const names = ['a', 'b', 'c', 'd'];
  const opcode: fc.Arbitrary<OpcodeInput> = fc.oneof(
    fc.record({
      type: fc.constant('OP_INSTANCE_CREATE' as const),
      instanceName: fc.constantFrom(...names),
      diskTemplate: fc.constantFrom('file' as const, 'sharedfile' as const),
      memoryMib: fc.integer({ min: 1, max: 2048 }),
      vcpus: fc.integer({ min: 1, max: 3 }),
      primaryNode: fc.constantFrom(...nodes),
      disks: fc.array(fc.record({ sizeMib: fc.integer({ min: 1, max: 700 }) }), { minLength: 1, maxLength: 3 }),
    }),
    fc.record({
      type: fc.constant('OP_INSTANCE_GROW_DISK' as const),
      instanceName: fc.constantFrom(...names),
      diskIndex: fc.integer({ min: 0, max: 2 }),
      amountMib: fc.integer({ min: 1, max: 700 }),
      absolute: fc.boolean(),
    }),
    fc.record({ type: fc.constant('OP_INSTANCE_REMOVE' as const), instanceName: fc.constantFrom(...names) }),
    fc.record({ type: fc.constant('OP_INSTANCE_SET_PARAMS' as const), instanceName: fc.constantFrom(...names), memoryMib: fc.integer({ min: 1, max: 2048 }) }),
    fc.record({ type: fc.constant('OP_INSTANCE_FAILOVER' as const), instanceName: fc.constantFrom(...names), targetNode: fc.constantFrom(...nodes) }),
  );

  it('holds after every accepted opcode', () => {
    fc.assert(
      fc.property(fc.array(opcode, { maxLength: 25 }), (opcodes) => {
        const state = stateOf([
          clusterInitialized({ sharedFileStorageDir: '/srv/shared' }),
          groupAdded('g1'),
          nodeAdded('n1', 'g1', { diskMib: 1000 }),
          nodeAdded('n2', 'g1', { diskMib: 1500 }),
          nodeAdded('n3', 'g1'),
        ]);
        const newUuid = deterministicUuids();
        for (const raw of opcodes) {
          const decision = decideCluster(state, Opcode.parse(raw), { newUuid });
          if (E.isRight(decision)) decision.right.forEach((e) => evolveCluster(state, e, state.revision + 1n));
        }
        for (const node of state.nodes.values()) {
          const primaries = [...state.instances.values()].filter((i) => i.primaryNodeUuid === node.uuid);
          const usage = nodeUsage(state, node.uuid);
          expect(usage.diskMib).toBe(primaries.reduce((sum, i) => sum + localDiskMib(i), 0));
          expect(usage.memoryMib).toBe(primaries.reduce((sum, i) => sum + i.memoryMib, 0));
          expect(usage.memoryMib).toBeLessThanOrEqual(node.memoryMib);
          if (node.diskMib > 0) expect(usage.diskMib).toBeLessThanOrEqual(node.diskMib);
        }
      }),
      { numRuns: 300 },
    );
  });
});
