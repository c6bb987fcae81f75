import { describe, it } from 'vitest';
import type { DeviceObservations, DeviceSighting } from '../../../src/domain/devices.js';
import type { DiskRecord, EventOf } from '../../../src/domain/events.js';
import { given } from '../decider-spec.js';
import { clusterInitialized, groupAdded, instanceAdded, nodeAdded, nodeUuid } from './history.js';

/** /prefix is the only allowed prefix; lunA is device 7:3 (16 MiB), seen under several names. */
const cluster = [clusterInitialized({ blockdevPrefixes: ['/prefix', '/prefix2'] }), groupAdded('g1'), nodeAdded('n1', 'g1'), nodeAdded('n2', 'g1')];
const lunA: DeviceSighting = { kind: 'device', deviceNumber: '7:3', sizeBytes: 16 << 20, resolved: '/dev/loop3' };
const lunC: DeviceSighting = { kind: 'device', deviceNumber: '7:4', sizeBytes: 16 << 20, resolved: '/dev/loop4' };
const seen = (entries: [string, DeviceSighting][]): { devices: DeviceObservations } => ({ devices: new Map(entries) });
const create = (name: string, ...paths: string[]) =>
  ({ type: 'OP_INSTANCE_CREATE', instanceName: name, diskTemplate: 'blockdev', memoryMib: 1, vcpus: 1, primaryNode: 'n1', start: false, disks: paths.map((adopt) => ({ adopt })) }) as const;
const adopted = (path: string, deviceNumber?: string): DiskRecord => ({ index: 0, sizeMib: 16, logicalId: path, params: {}, adopted: true, ...(deviceNumber && { deviceNumber, underlying: [] }) });
const added = (name: string, disks: DiskRecord[]): EventOf<'InstanceAdded'> => ({
  type: 'InstanceAdded',
  data: { instanceUuid: 'u1', instanceName: name, diskTemplate: 'blockdev', primaryNodeUuid: nodeUuid('n1'), secondaryNodeUuids: [], memoryMib: 1, vcpus: 1, hypervisor: 'fake', tags: [], disks },
});
const a = instanceAdded('a', 'n1', { diskTemplate: 'blockdev', disks: [adopted('/prefix/lunA', '7:3')] });

describe('OP_INSTANCE_CREATE: the identity of adopted devices', () => {
  it('records the normalised path and the device number it resolved to', () =>
    given(...cluster).when(create('a', '/prefix//lunA/'), seen([['/prefix/lunA', lunA]])).then(added('a', [adopted('/prefix/lunA', '7:3')])));

  it('refuses every other name of an adopted device, by its number', () => {
    given(...cluster, a).when(create('b', '/prefix//lunA'), seen([['/prefix/lunA', lunA]])).thenRefused('in_use', "disk 0: '/prefix/lunA' (device 7:3, /dev/loop3) is already adopted by instance 'a'");
    given(...cluster, a)
      .when(create('c', '/prefix2/lunB'), seen([['/prefix2/lunB', lunA]]))
      .thenRefused('in_use', "disk 0: '/prefix2/lunB' (device 7:3, /dev/loop3) is already adopted by instance 'a' as '/prefix/lunA'");
  });

  it('recognises an alias of a device recorded without a number (older events), as observed now', () => {
    const old = instanceAdded('old', 'n2', { diskTemplate: 'blockdev', disks: [adopted('/prefix/lunA')] });
    given(...cluster, old)
      .when(create('b', '/prefix2/lunB'), seen([['/prefix2/lunB', lunA], ['/prefix/lunA', lunA]]))
      .thenRefused('in_use', "already adopted by instance 'old' as '/prefix/lunA'");
    given(...cluster, old).when(create('b', '/prefix2/lunC'), seen([['/prefix2/lunC', lunC], ['/prefix/lunA', lunA]])).then(added('b', [adopted('/prefix2/lunC', '7:4')]));
  });

  it('refuses one device given twice to the same instance', () =>
    given(...cluster)
      .when(create('b', '/prefix/lunA', '/prefix2/lunB'), seen([['/prefix/lunA', lunA], ['/prefix2/lunB', lunA]]))
      .thenRefused('in_use', "disk 1: '/prefix2/lunB' (device 7:3, /dev/loop3) is the same device as disk 0 ('/prefix/lunA')"));

  it('refuses an empty device', () =>
    given(...cluster)
      .when(create('b', '/prefix/empty'), seen([['/prefix/empty', { ...lunC, sizeBytes: 0 }]]))
      .thenRefused('invalid_argument', "disk 0: '/prefix/empty' (device 7:4, /dev/loop4) is empty (0 bytes); only a device with room on it can be a disk"));

  it('refuses a device smaller than 1 MiB: it would be a disk of 0 MiB', () =>
    given(...cluster)
      .when(create('b', '/prefix/tiny'), seen([['/prefix/tiny', { ...lunC, sizeBytes: 512 * 1024 }]]))
      .thenRefused('invalid_argument', "disk 0: '/prefix/tiny' (device 7:4, /dev/loop4) holds 524288 bytes, less than 1 MiB; only a device with room on it can be a disk"));

  it('says why a path is not under a prefix before anything else', () =>
    given(clusterInitialized({ blockdevPrefixes: ['/prefix'] }), groupAdded('g1'), nodeAdded('n1', 'g1'))
      .when(create('b', '/prefix2/lunB'), seen([['/prefix2/lunB', lunA]]))
      .thenRefused('invalid_argument', "disk 0: '/prefix2/lunB' is not under an allowed block device prefix (/prefix): prefixes are directories, and '/prefix2' is not inside '/prefix'"));

  it('reports what the node saw at a path that is not a device, and refuses to decide without looking', () => {
    given(...cluster).when(create('b', '/prefix/file'), seen([['/prefix/file', { kind: 'problem', message: 'node n1: /prefix/file is not a block device' }]])).thenRefused('invalid_argument', 'disk 0: node n1: /prefix/file is not a block device');
    given(...cluster).when(create('b', '/prefix/lunA')).thenRefused('wrong_state', "disk 0: '/prefix/lunA' was not examined on the node before deciding");
  });
});
