import { describe, expect, it } from 'vitest';
import { overlapReason, type DeviceObservations, type DeviceSighting } from '../../../src/domain/devices.js';
import type { DiskRecord, EventOf } from '../../../src/domain/events.js';
import { given } from '../decider-spec.js';
import { clusterInitialized, groupAdded, instanceAdded, nodeAdded, nodeUuid } from './history.js';

/**
 * One set of blocks under several device numbers: loop4 and loop5 read one file,
 * loop6 is a whole disk with partition loop6p1 (259:0), dm-0 (253:0) maps loop7.
 */
const cluster = [clusterInitialized({ blockdevPrefixes: ['/dev'] }), groupAdded('g1'), nodeAdded('n1', 'g1')];
const file = 'file 2049:77@0+0';
const sighting = (deviceNumber: string, resolved: string, more: Partial<DeviceSighting> = {}): DeviceSighting =>
  ({ kind: 'device', deviceNumber, sizeBytes: 16 << 20, resolved, ...more }) as DeviceSighting;
const loop4 = sighting('7:4', '/dev/loop4', { underlying: [file] });
const loop5 = sighting('7:5', '/dev/loop5', { underlying: [file] });
const loop6 = sighting('7:6', '/dev/loop6');
const loop6p1 = sighting('259:0', '/dev/loop6p1', { underlying: ['device 7:6'] });
const dm0 = sighting('253:0', '/dev/dm-0', { underlying: ['device 7:7'] });
const seen = (entries: [string, DeviceSighting][]): { devices: DeviceObservations } => ({ devices: new Map(entries) });
const create = (name: string, ...paths: string[]) =>
  ({ type: 'OP_INSTANCE_CREATE', instanceName: name, diskTemplate: 'blockdev', memoryMib: 1, vcpus: 1, primaryNode: 'n1', start: false, disks: paths.map((adopt) => ({ adopt })) }) as const;
const record = (index: number, path: string, s: DeviceSighting): DiskRecord => {
  if (s.kind !== 'device') throw new Error('a device sighting is needed');
  return { index, sizeMib: 16, logicalId: path, deviceNumber: s.deviceNumber, ...(s.underlying && { underlying: s.underlying }), params: {}, adopted: true };
};
const added = (name: string, disks: DiskRecord[]): EventOf<'InstanceAdded'> => ({
  type: 'InstanceAdded',
  data: { instanceUuid: 'u1', instanceName: name, diskTemplate: 'blockdev', primaryNodeUuid: nodeUuid('n1'), secondaryNodeUuids: [], memoryMib: 1, vcpus: 1, hypervisor: 'fake', tags: [], disks },
});
const owns = (name: string, path: string, s: DeviceSighting) => instanceAdded(name, 'n1', { diskTemplate: 'blockdev', disks: [record(0, path, s)] });

describe('OP_INSTANCE_CREATE: one set of blocks under several device numbers', () => {
  it('records what an adopted device is built from, so later devices can be compared with it', () =>
    given(...cluster)
      .when(create('a1', '/dev/loop4'), seen([['/dev/loop4', loop4]]))
      .then(added('a1', [record(0, '/dev/loop4', loop4)])));

  it('refuses a second loop device over the file an adopted one reads', () =>
    given(...cluster, owns('a1', '/dev/loop4', loop4))
      .when(create('b', '/dev/loop5'), seen([['/dev/loop5', loop5]]))
      .thenRefused('in_use', "disk 0: '/dev/loop5' (device 7:5, /dev/loop5) reads the same file as '/dev/loop4', adopted by instance 'a1'"));

  it('refuses a partition of an adopted disk, and a mapped device over an adopted one', () => {
    given(...cluster, owns('a1', '/dev/loop6', loop6))
      .when(create('b', '/dev/loop6p1'), seen([['/dev/loop6p1', loop6p1]]))
      .thenRefused('in_use', "disk 0: '/dev/loop6p1' (device 259:0, /dev/loop6p1) is built on (a partition of or mapped onto) '/dev/loop6', adopted by instance 'a1'");
    given(...cluster, owns('a1', '/dev/loop7', sighting('7:7', '/dev/loop7')))
      .when(create('b', '/dev/dm-0'), seen([['/dev/dm-0', dm0]]))
      .thenRefused('in_use', "disk 0: '/dev/dm-0' (device 253:0, /dev/dm-0) is built on (a partition of or mapped onto) '/dev/loop7', adopted by instance 'a1'");
  });

  it('refuses the disk under an adopted partition', () =>
    given(...cluster, owns('a1', '/dev/loop6p1', loop6p1))
      .when(create('b', '/dev/loop6'), seen([['/dev/loop6', loop6]]))
      .thenRefused('in_use', "disk 0: '/dev/loop6' (device 7:6, /dev/loop6) lies under '/dev/loop6p1', adopted by instance 'a1'"));

  it('refuses a device something else is built on', () =>
    given(...cluster)
      .when(create('b', '/dev/loop6'), seen([['/dev/loop6', { ...loop6, busy: 'has partitions (loop6p1)' } as DeviceSighting]]))
      .thenRefused('in_use', "disk 0: '/dev/loop6' (device 7:6, /dev/loop6) has partitions (loop6p1); only a device nothing else is built on can be adopted"));

  it('refuses two disks of one instance over the same file', () =>
    given(...cluster)
      .when(create('b', '/dev/loop4', '/dev/loop5'), seen([['/dev/loop4', loop4], ['/dev/loop5', loop5]]))
      .thenRefused('in_use', "disk 1: '/dev/loop5' (device 7:5, /dev/loop5) reads the same file as disk 0 ('/dev/loop4')"));

  it('looks again at a disk recorded before what it is built from was kept, while it is the device recorded', () => {
    const old = instanceAdded('old', 'n1', { diskTemplate: 'blockdev', disks: [{ index: 0, sizeMib: 16, logicalId: '/dev/loop4', deviceNumber: '7:4', params: {}, adopted: true }] });
    given(...cluster, old)
      .when(create('b', '/dev/loop5'), seen([['/dev/loop5', loop5], ['/dev/loop4', loop4]]))
      .thenRefused('in_use', "disk 0: '/dev/loop5' (device 7:5, /dev/loop5) reads the same file as '/dev/loop4', adopted by instance 'old'");
    // The name now names another device: what that one is built from says nothing of the disk.
    const renamed = sighting('7:9', '/dev/loop9', { underlying: [file] });
    given(...cluster, old).when(create('b', '/dev/loop5'), seen([['/dev/loop5', loop5], ['/dev/loop4', renamed]])).then(added('b', [record(0, '/dev/loop5', loop5)]));
  });

  it('adopts a loop device over another file, or the same file at another offset', () => {
    const other = sighting('7:5', '/dev/loop5', { underlying: ['file 2049:77@1048576+0'] });
    given(...cluster, owns('a1', '/dev/loop4', loop4)).when(create('b', '/dev/loop5'), seen([['/dev/loop5', other]])).then(added('b', [record(0, '/dev/loop5', other)]));
  });
});

describe('overlapReason', () => {
  it('names how two devices meet, and nothing when they do not', () => {
    expect(overlapReason({ deviceNumber: '7:5', underlying: [file] }, { deviceNumber: '7:4', underlying: [file] })).toBe('reads the same file as');
    expect(overlapReason({ deviceNumber: '7:4' }, { deviceNumber: '7:4' })).toBe('is the same device as');
    expect(overlapReason({ deviceNumber: '259:1', underlying: ['device 7:6'] }, { deviceNumber: '259:0', underlying: ['device 7:6'] })).toBe('shares the underlying device 7:6 with');
    expect(overlapReason({ deviceNumber: '7:5', underlying: [file] }, {})).toBeUndefined();
    expect(overlapReason({ deviceNumber: '7:5' }, { deviceNumber: '7:4', underlying: [file] })).toBeUndefined();
  });
});
