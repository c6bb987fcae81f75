import { describe, expect, it } from 'vitest';
import { findInstance } from '../../src/domain/cluster-state.js';
import { candidates, mobilityDomain, placementDomain } from '../../src/domain/mobility.js';
import { sequentialUuids, stateAfter } from './fixtures.js';

const setup = [
  { type: 'OP_CLUSTER_INIT', clusterName: 'c', sharedFileStorageDir: '/srv/shared', blockdevPrefixes: ['/dev/disk/by-id'] },
  { type: 'OP_GROUP_ADD', groupName: 'ga' },
  { type: 'OP_GROUP_ADD', groupName: 'gb' },
  ...['a1', 'a2', 'a3'].map((n) => ({ type: 'OP_NODE_ADD', nodeName: n, groupName: 'ga', memoryMib: 4096, cpus: 4 })),
  ...['b1', 'b2'].map((n) => ({ type: 'OP_NODE_ADD', nodeName: n, groupName: 'gb', memoryMib: 4096, cpus: 4 })),
  { type: 'OP_CLUSTER_SET_PARAMS', addPool: { poolName: 'nas', driver: 'filepool' } },
  { type: 'OP_GROUP_SET_PARAMS', groupName: 'gb', connectPool: 'nas' },
  { type: 'OP_NODE_SET_PARAMS', nodeName: 'a3', drained: true },
  { type: 'OP_NODE_SET_PARAMS', nodeName: 'b2', offline: true },
  { type: 'OP_INSTANCE_CREATE', instanceName: 'sf', diskTemplate: 'sharedfile', memoryMib: 1, vcpus: 1, primaryNode: 'a1', disks: [{ sizeMib: 1 }] },
  { type: 'OP_INSTANCE_CREATE', instanceName: 'lun', diskTemplate: 'blockdev', memoryMib: 1, vcpus: 1, primaryNode: 'a1', disks: [{ adopt: '/dev/disk/by-id/x' }] },
  { type: 'OP_INSTANCE_CREATE', instanceName: 'ext', diskTemplate: 'ext', memoryMib: 1, vcpus: 1, primaryNode: 'b1', disks: [{ sizeMib: 1, pool: 'nas' }] },
  { type: 'OP_INSTANCE_CREATE', instanceName: 'loc', diskTemplate: 'file', memoryMib: 1, vcpus: 1, primaryNode: 'a2', disks: [{ sizeMib: 1 }] },
];

describe('mobility domain', () => {
  // What the engine would have seen at the LUN's path before deciding.
  const lunSeen = { kind: 'device', deviceNumber: '8:16', sizeBytes: 1 << 30, resolved: '/dev/sdb' } as const;
  const state = stateAfter(setup, { ...sequentialUuids(), devices: new Map([['/dev/disk/by-id/x', lunSeen]]) });
  const of = (name: string) => candidates(state, findInstance(state, name)!);

  it('sharedfile: any online, undrained, vm-capable node of any group', () => expect(of('sf')).toEqual(['a2', 'b1']));
  it('blockdev: only its own group, where the LUN is seen', () => expect(of('lun')).toEqual(['a2']));
  it('ext:POOL: only groups connected to the pool', () => expect(of('ext')).toEqual([]));
  it('local templates: nowhere', () => expect(of('loc')).toEqual([]));

  it('gives every node a reason', () => {
    const reasons = Object.fromEntries(mobilityDomain(state, findInstance(state, 'ext')!).map((c) => [c.node, c.reason]));
    expect(reasons).toEqual({
      a1: "group 'ga' is not connected to pool nas",
      a2: "group 'ga' is not connected to pool nas",
      a3: "group 'ga' is not connected to pool nas",
      b1: 'its current primary node',
      b2: 'node is offline',
    });
    expect(mobilityDomain(state, findInstance(state, 'sf')!).find((c) => c.node === 'a3')!.reason).toBe('node is drained');
    expect(mobilityDomain(state, findInstance(state, 'loc')!).find((c) => c.node === 'a1')!.reason).toBe("'file' disks live on its primary node only");
  });
});

describe('mobility domain of a kvm guest', () => {
  const withAddress = (n: string, i: number) => ({ type: 'OP_NODE_ADD', nodeName: n, groupName: 'g', memoryMib: 4096, cpus: 4, address: { host: `10.0.0.${i}`, port: 1811 } });
  const state = stateAfter(
    [
      { type: 'OP_CLUSTER_INIT', clusterName: 'c', sharedFileStorageDir: '/srv/shared', enabledHypervisors: ['kvm', 'fake'] },
      { type: 'OP_GROUP_ADD', groupName: 'g' },
      withAddress('h1', 1),
      withAddress('h2', 2),
      { type: 'OP_NODE_ADD', nodeName: 'local', groupName: 'g', memoryMib: 4096, cpus: 4 },
      { type: 'OP_INSTANCE_CREATE', instanceName: 'vm', diskTemplate: 'sharedfile', memoryMib: 128, vcpus: 1, primaryNode: 'h1', disks: [{ sizeMib: 4 }] },
    ],
    sequentialUuids(),
  );

  it('leaves out local nodes, saying why: QEMU runs under a node daemon, so allocators are never offered one', () => {
    const vm = findInstance(state, 'vm')!;
    expect(vm.hypervisor).toBe('kvm');
    expect(candidates(state, vm)).toEqual(['h2']);
    expect(mobilityDomain(state, vm).find((c) => c.node === 'local')).toMatchObject({ candidate: false, reason: 'a local node (no opl-noded): it runs no kvm guests' });
  });

  it('places a new kvm guest only on nodes with a daemon', () => {
    expect(placementDomain(state, 'sharedfile', [], 'kvm')).toEqual(['h1', 'h2']);
    expect(placementDomain(state, 'sharedfile', [], 'fake')).toEqual(['h1', 'h2', 'local']);
  });
});
