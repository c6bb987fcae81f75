import { describe, expect, it } from 'vitest';
import { nodeUsage, type ClusterState } from '../../src/domain/cluster-state.js';
import type { DeviceObservations } from '../../src/domain/devices.js';
import type { ClusterEvent } from '../../src/domain/events.js';
import { Opcode } from '../../src/domain/opcodes.js';
import { heldProblem } from '../../src/domain/saga-holds.js';
import { clusterWith, disk, foldInto, instanceAdded } from '../engine/sagas/fixtures.js';

const begun = (jobId: number, events: ClusterEvent[]): ClusterEvent => ({ type: 'SagaBegun', data: { sagaId: `job-${jobId}/op-0`, jobId, opIndex: 0, events } });
const completed = (jobId: number, ...finals: ClusterEvent[]): ClusterEvent[] => [{ type: 'SagaCompleted', data: { sagaId: `job-${jobId}/op-0` } }, ...finals];
const undone = (jobId: number): ClusterEvent => ({ type: 'SagaUndone', data: { sagaId: `job-${jobId}/op-0`, reason: 'creating disk 0 failed' } });

const usage = (state: ClusterState, node: string) => ({ ...nodeUsage(state, `node-${node}`) });
const nothingHeld = (state: ClusterState) => {
  expect(state.sagas.size).toBe(0);
  expect(state.busyInstances.size).toBe(0);
  expect(state.heldNames.size).toBe(0);
  expect(state.heldDevices.size).toBe(0);
  expect(state.busyNodes.size).toBe(0);
};
const none = { memoryMib: 0, vcpus: 0, instances: 0, diskMib: 0 };

/** i1 runs on n1 with 1024 MiB and 2 vcpus. */
const withI1 = () => clusterWith(instanceAdded('i1', 'sharedfile', [disk(0, '/srv/shared/i1/disk0')]), { type: 'InstanceStarted', data: { instanceUuid: 'uuid-i1', nodeUuid: 'node-n1' } });

const createX: ClusterEvent[] = [
  instanceAdded('x', 'blockdev', [disk(0, '/dev/disk/by-id/lun-1', { adopted: true, sizeMib: 0, deviceNumber: '8:16' })], 'n2', { memoryMib: 512, vcpus: 1 }),
  { type: 'InstanceStarted', data: { instanceUuid: 'uuid-x', nodeUuid: 'node-n2' } },
];
const moveI1: ClusterEvent = { type: 'InstanceMoved', data: { instanceUuid: 'uuid-i1', fromNodeUuid: 'node-n1', toNodeUuid: 'node-n2', how: 'live-migration', running: true, sourceOffline: false, ignoreSourceFailures: false } };
const renameI1: ClusterEvent = { type: 'InstanceRenamed', data: { instanceUuid: 'uuid-i1', oldName: 'i1', newName: 'web2', logicalIds: ['/srv/shared/web2/disk0'] } };

describe('saga holds', () => {
  it('a fence holds its node until it ends: nobody powers it on or brings it online meanwhile', () => {
    const fence: ClusterEvent = { type: 'NodePowered', data: { nodeUuid: 'node-n1', command: 'power-off', program: '/sbin/power', fencedFor: 'uuid-i1' } };
    const state = foldInto(withI1(), begun(9, [fence, { ...moveI1, data: { ...moveI1.data, how: 'failover', sourceOffline: true, fenced: true } }]));
    expect([...state.busyNodes]).toEqual([['node-n1', 'job-9/op-0']]);
    expect(heldProblem(state, Opcode.parse({ type: 'OP_OOB_COMMAND', command: 'power-on', nodeNames: ['n1'] }))?.message).toBe("node 'n1' is being powered by job 9; wait for it to end");
    expect(heldProblem(state, Opcode.parse({ type: 'OP_NODE_SET_PARAMS', nodeName: 'n1', offline: false }))?.message).toBe("node 'n1' is being powered by job 9; wait for it to end");
    expect(heldProblem(state, Opcode.parse({ type: 'OP_OOB_COMMAND', command: 'power-on', nodeNames: ['n2'] }))).toBeUndefined();
    nothingHeld(foldInto(state, undone(9)));
  });

  it('a create holds memory, vcpus and the instance on its primary, its name, its adopted devices and the instance, once each', () => {
    const state = foldInto(withI1(), begun(7, createX));
    expect(usage(state, 'n2')).toEqual({ memoryMib: 512, vcpus: 1, instances: 1, diskMib: 0 });
    expect(usage(state, 'n1')).toEqual({ memoryMib: 1024, vcpus: 2, instances: 1, diskMib: 0 });
    expect(state.sagas.get('job-7/op-0')!.holds).toEqual([
      { kind: 'usage', nodeUuid: 'node-n2', delta: { memoryMib: 512, vcpus: 1, instances: 1, diskMib: 0 } },
      { kind: 'name', name: 'x' },
      { kind: 'instance', instanceUuid: 'uuid-x' },
      { kind: 'device', key: 'path /dev/disk/by-id/lun-1' },
      { kind: 'device', key: 'device 8:16' },
    ]);
    expect([...state.heldNames]).toEqual([['x', 'job-7/op-0']]);
    expect([...state.heldDevices]).toEqual([['path /dev/disk/by-id/lun-1', 'job-7/op-0'], ['device 8:16', 'job-7/op-0']]);
    expect([...state.busyInstances]).toEqual([['uuid-x', 'job-7/op-0']]);
    expect(state.instances.has('uuid-x')).toBe(false);
  });

  it('a completed create leaves exactly the usage its instance has, counted once', () => {
    const state = foldInto(withI1(), begun(7, createX), ...completed(7, ...createX));
    expect(usage(state, 'n2')).toEqual({ memoryMib: 512, vcpus: 1, instances: 1, diskMib: 0 });
    expect(state.instances.get('uuid-x')!.adminState).toBe('up');
    nothingHeld(state);
  });

  it('an undone create gives everything back', () => {
    const state = foldInto(withI1(), begun(7, createX), undone(7));
    expect(usage(state, 'n2')).toEqual(none);
    expect(state.instances.has('uuid-x')).toBe(false);
    nothingHeld(state);
  });

  it('a move holds the instance on its target from the start; the source carries it until the end', () => {
    const during = foldInto(withI1(), begun(8, [moveI1]));
    expect(usage(during, 'n1')).toEqual({ memoryMib: 1024, vcpus: 2, instances: 1, diskMib: 0 });
    expect(usage(during, 'n2')).toEqual({ memoryMib: 1024, vcpus: 2, instances: 1, diskMib: 0 });
    expect([...during.busyInstances]).toEqual([['uuid-i1', 'job-8/op-0']]);

    const done = foldInto(withI1(), begun(8, [moveI1]), ...completed(8, moveI1));
    expect([usage(done, 'n1'), usage(done, 'n2')]).toEqual([none, { memoryMib: 1024, vcpus: 2, instances: 1, diskMib: 0 }]);
    nothingHeld(done);

    const back = foldInto(withI1(), begun(8, [moveI1]), undone(8));
    expect([usage(back, 'n1'), usage(back, 'n2')]).toEqual([{ memoryMib: 1024, vcpus: 2, instances: 1, diskMib: 0 }, none]);
    nothingHeld(back);
  });

  it('a rename holds the new name and the instance until it ends', () => {
    const during = foldInto(withI1(), begun(9, [renameI1]));
    expect([...during.heldNames]).toEqual([['web2', 'job-9/op-0']]);
    expect([...during.busyInstances]).toEqual([['uuid-i1', 'job-9/op-0']]);
    const done = foldInto(withI1(), begun(9, [renameI1]), ...completed(9, renameI1));
    expect(done.instanceByName.get('web2')).toBe('uuid-i1');
    nothingHeld(done);
  });

  it('any other event that names an instance makes it busy, and holds no capacity', () => {
    const events: ClusterEvent[] = [
      { type: 'InstanceStopped', data: { instanceUuid: 'uuid-i1', nodeUuid: 'node-n1' } },
      { type: 'DiskGrown', data: { instanceUuid: 'uuid-i1', index: 0, sizeMib: 4096 } },
    ];
    const state = foldInto(withI1(), begun(10, events));
    expect(state.sagas.get('job-10/op-0')!.holds).toEqual([{ kind: 'instance', instanceUuid: 'uuid-i1' }]);
    expect(usage(state, 'n1')).toEqual({ memoryMib: 1024, vcpus: 2, instances: 1, diskMib: 0 });
  });
});

describe('heldProblem', () => {
  const refusal = (state: ClusterState, raw: unknown, devices?: DeviceObservations) => {
    const problem = heldProblem(state, Opcode.parse(raw), devices);
    return problem && `${problem.code}: ${problem.message}`;
  };
  const create = (name: string, disks: unknown[] = []) => ({ type: 'OP_INSTANCE_CREATE', instanceName: name, diskTemplate: disks.length ? 'blockdev' : 'diskless', memoryMib: 128, vcpus: 1, primaryNode: 'n3', disks });
  /** Job 7 creates x adopting lun-1; job 9 renames i1 to web2; i2 is free. */
  const busy = () => foldInto(withI1(), instanceAdded('i2', 'diskless', [], 'n3'), begun(7, createX), begun(9, [renameI1]));

  it('refuses an opcode on an instance a saga is working on', () => {
    expect(refusal(busy(), { type: 'OP_INSTANCE_STARTUP', instanceName: 'i1' })).toBe("wrong_state: instance 'i1' is being changed by job 9; wait for it to end");
  });

  it('refuses a create of a name a saga is about to give', () => {
    expect(refusal(busy(), create('x'))).toBe("already_exists: instance name 'x' is being given by job 7");
  });

  it('refuses a rename to a name a saga is about to give', () => {
    expect(refusal(busy(), { type: 'OP_INSTANCE_RENAME', instanceName: 'i2', newName: 'web2' })).toBe("already_exists: instance name 'web2' is being given by job 9");
  });

  it('refuses the adoption of a device a saga is adopting', () => {
    expect(refusal(busy(), create('y', [{ adopt: '/dev/mapper/lun-9' }, { adopt: '/dev/disk/by-id/lun-1' }]))).toBe("in_use: disk 1: '/dev/disk/by-id/lun-1' is being adopted by job 7");
  });

  it('refuses another name of a device a saga is adopting, by the device number seen before deciding', () => {
    const seen: DeviceObservations = new Map([['/dev/mapper/alias', { kind: 'device', deviceNumber: '8:16', sizeBytes: 1 << 20, resolved: '/dev/sdb' }]]);
    expect(refusal(busy(), create('y', [{ adopt: '/dev/mapper//alias/' }]), seen)).toBe("in_use: disk 0: '/dev/mapper//alias/' (device 8:16, /dev/sdb) is being adopted by job 7");
    expect(refusal(busy(), create('y', [{ adopt: '/dev/disk/by-id//lun-1' }]))).toBe("in_use: disk 0: '/dev/disk/by-id//lun-1' is being adopted by job 7");
    const other: DeviceObservations = new Map([['/dev/mapper/alias', { kind: 'device', deviceNumber: '8:32', sizeBytes: 1 << 20, resolved: '/dev/sdc' }]]);
    expect(refusal(busy(), create('y', [{ adopt: '/dev/mapper/alias' }]), other)).toBeUndefined();
  });

  it('refuses a device reaching the same blocks as one a saga is adopting (one file under two loop devices)', () => {
    const file = 'file 2049:77@0+0';
    const loop4 = instanceAdded('l', 'blockdev', [disk(0, '/dev/loop4', { adopted: true, sizeMib: 0, deviceNumber: '7:4', underlying: [file] })], 'n2');
    const state = foldInto(busy(), begun(11, [loop4]));
    const seen: DeviceObservations = new Map([['/dev/loop5', { kind: 'device', deviceNumber: '7:5', sizeBytes: 1 << 20, resolved: '/dev/loop5', underlying: [file] }]]);
    expect(refusal(state, create('y', [{ adopt: '/dev/loop5' }]), seen)).toBe(`in_use: disk 0: '/dev/loop5' (device 7:5, /dev/loop5) shares ${file} with a device being adopted by job 11`);
    const elsewhere: DeviceObservations = new Map([['/dev/loop5', { kind: 'device', deviceNumber: '7:5', sizeBytes: 1 << 20, resolved: '/dev/loop5', underlying: ['file 2049:78@0+0'] }]]);
    expect(refusal(state, create('y', [{ adopt: '/dev/loop5' }]), elsewhere)).toBeUndefined();
  });

  it('lets through what no saga holds, and everything once the sagas end', () => {
    expect(refusal(busy(), { type: 'OP_INSTANCE_STARTUP', instanceName: 'i2' })).toBeUndefined();
    expect(refusal(busy(), create('z', [{ adopt: '/dev/mapper/lun-9' }]))).toBeUndefined();
    const ended = foldInto(busy(), undone(7), ...completed(9, renameI1));
    expect(refusal(ended, { type: 'OP_INSTANCE_STARTUP', instanceName: 'web2' })).toBeUndefined();
    expect(refusal(ended, create('x', [{ adopt: '/dev/disk/by-id/lun-1' }]))).toBeUndefined();
  });
});
