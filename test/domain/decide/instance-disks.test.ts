import { describe, it } from 'vitest';
import type { DeviceObservations } from '../../../src/domain/devices.js';
import type { DiskRecord, EventOf } from '../../../src/domain/events.js';
import { given } from '../decider-spec.js';
import {
  clusterInitialized,
  disksActivated,
  fileDisk,
  groupAdded,
  instanceAdded,
  instanceStarted,
  instanceUuid,
  nodeAdded,
  nodeUuid,
  poolAdded,
  poolConnected,
  running,
  sharedFileDisk,
  threeNodes,
} from './history.js';

const added = (name: string, node: string, diskTemplate: EventOf<'InstanceAdded'>['data']['diskTemplate'], disks: DiskRecord[]): EventOf<'InstanceAdded'> => ({
  type: 'InstanceAdded',
  data: { instanceUuid: 'u1', instanceName: name, diskTemplate, primaryNodeUuid: nodeUuid(node), secondaryNodeUuids: [], memoryMib: 1, vcpus: 1, hypervisor: 'fake', tags: [], disks },
});
const create = (diskTemplate: 'diskless' | 'file' | 'sharedfile' | 'blockdev' | 'ext', disks: { sizeMib?: number; adopt?: string; pool?: string; params?: Record<string, string> }[], node = 'n1') =>
  ({ type: 'OP_INSTANCE_CREATE', instanceName: 'x', diskTemplate, memoryMib: 1, vcpus: 1, primaryNode: node, start: false, disks }) as const;

const withShared = threeNodes({ sharedFileStorageDir: '/srv/shared' });
/** n1 declares 1000 MiB of local disk, 600 of them taken by f1's file disk; n2 declares none. */
const localDisk = [
  clusterInitialized({ sharedFileStorageDir: '/srv/shared' }),
  groupAdded('g1'),
  nodeAdded('n1', 'g1', { diskMib: 1000 }),
  nodeAdded('n2', 'g1'),
  instanceAdded('f1', 'n1', { diskTemplate: 'file', disks: [fileDisk('f1', 0, 600)] }),
];
const lun = (path: string, deviceNumber?: string): DiskRecord => ({ index: 0, sizeMib: 0, logicalId: path, params: {}, adopted: true, ...(deviceNumber && { deviceNumber, underlying: [] }) });
/** What the engine saw at each path before deciding: a 64 MiB device per path, numbered in order. */
const seen = (...paths: string[]): { devices: DeviceObservations } => ({
  devices: new Map(paths.map((p, i) => [p, { kind: 'device', deviceNumber: `8:${16 * (i + 1)}`, sizeBytes: 64 << 20, resolved: `/dev/sd${'bcd'[i]}` }])),
});

describe('OP_INSTANCE_CREATE: disks', () => {
  it('places file disks per node and sharedfile disks under the shared directory', () => {
    given(...withShared).when(create('file', [{ sizeMib: 64 }, { sizeMib: 1 }])).then(added('x', 'n1', 'file', [fileDisk('x', 0, 64), fileDisk('x', 1, 1)]));
    given(...withShared).when(create('sharedfile', [{ sizeMib: 1024 }])).then(added('x', 'n1', 'sharedfile', [sharedFileDisk('x', 0, 1024)]));
  });

  it('adopts a block device under an allowed prefix; its size is read when it is adopted', () =>
    given(...withShared)
      .when(create('blockdev', [{ adopt: '/dev/disk/by-id/wwn-1' }]), seen('/dev/disk/by-id/wwn-1'))
      .then(added('x', 'n1', 'blockdev', [{ ...lun('/dev/disk/by-id/wwn-1', '8:16'), sizeMib: 64 }])));

  it('leaves an ext disk for its driver to name, in a pool the node’s group reaches', () =>
    given(...withShared, poolAdded('nas'), poolConnected('g1', 'nas'))
      .when(create('ext', [{ sizeMib: 10, pool: 'nas', params: { tier: 'gold' } }]))
      .then(added('x', 'n1', 'ext', [{ index: 0, sizeMib: 10, logicalId: '', pool: 'nas', params: { tier: 'gold' }, adopted: false }])));

  it.each([
    ['disks for a diskless instance', create('diskless', [{ sizeMib: 1 }]), "'diskless' instances have no disks; drop --disk"],
    ['no disk for a file instance', create('file', []), "'file' instances need at least one disk: --disk 0:size=SIZE"],
    ['no disk for a blockdev instance', create('blockdev', []), "'blockdev' instances need at least one disk: --disk 0:adopt=PATH"],
    ['adoption for a sharedfile disk', create('sharedfile', [{ adopt: '/dev/x' }]), "disk 0: 'sharedfile' disks are created to a size: give size=, not adopt="],
    ['a size for an adopted disk', create('blockdev', [{ sizeMib: 1 }]), "disk 0: 'blockdev' disks are adopted devices: give adopt=PATH, not size="],
    ['a device path with ..', create('blockdev', [{ adopt: '/dev/disk/by-id/../sda' }]), "disk 0: adopt='/dev/disk/by-id/../sda' must be an absolute path without . or .. components"],
    ['a device outside the allowed prefixes', create('blockdev', [{ adopt: '/dev/sda' }]), "disk 0: '/dev/sda' is not under an allowed block device prefix (/dev/disk/by-id, /dev/mapper)"],
    ['an ext disk without a pool', create('ext', [{ sizeMib: 1 }]), "disk 0: 'ext' disks need a pool: -t ext:POOL or --disk 0:size=SIZE,pool=POOL"],
  ])('refuses %s', (_what, opcode, message) => given(...withShared).when(opcode).thenRefused('invalid_argument', message));

  it('refuses a device another instance adopted', () =>
    given(...withShared, instanceAdded('db', 'n2', { diskTemplate: 'blockdev', disks: [lun('/dev/mapper/lun1')] }))
      .when(create('blockdev', [{ adopt: '/dev/mapper/lun1' }]), seen('/dev/mapper/lun1'))
      .thenRefused('in_use', "disk 0: '/dev/mapper/lun1' (device 8:16, /dev/sdb) is already adopted by instance 'db'"));

  it('refuses a pool that does not exist', () =>
    given(...withShared).when(create('ext', [{ sizeMib: 1, pool: 'nas' }])).thenRefused('not_found', "storage pool 'nas' does not exist"));

  it('refuses a pool the node’s group is not connected to', () =>
    given(...withShared, poolAdded('nas'), poolConnected('g2', 'nas'))
      .when(create('ext', [{ sizeMib: 1, pool: 'nas' }]))
      .thenRefused('wrong_state', "storage pool 'nas' is not connected to node group 'g1' of node 'n1'; connect it with 'opl group modify g1 --connect-pool nas'"));

  it('refuses sharedfile disks while the cluster has no shared directory', () =>
    given(...threeNodes())
      .when(create('sharedfile', [{ sizeMib: 1 }]))
      .thenRefused('wrong_state', "the cluster has no shared file storage directory; set one with 'opl cluster modify --shared-file-storage-dir PATH'"));

  it('fills a node’s declared local disk exactly', () =>
    given(...localDisk).when(create('file', [{ sizeMib: 300 }, { sizeMib: 100 }])).then(added('x', 'n1', 'file', [fileDisk('x', 0, 300), fileDisk('x', 1, 100)])));

  it('refuses file disks beyond a node’s declared local disk', () =>
    given(...localDisk)
      .when(create('file', [{ sizeMib: 300 }, { sizeMib: 101 }]))
      .thenRefused('insufficient_resources', "node 'n1' has 400 MiB of local disk free, 401 MiB needed"));

  it('does not count shared storage against a node’s local disk', () =>
    given(...localDisk).when(create('sharedfile', [{ sizeMib: 5000 }])).then(added('x', 'n1', 'sharedfile', [sharedFileDisk('x', 0, 5000)])));

  it('sets no limit on a node that declared no local disk', () =>
    given(...localDisk).when(create('file', [{ sizeMib: 1_000_000 }], 'n2')).then(added('x', 'n2', 'file', [fileDisk('x', 0, 1_000_000)])));
});

describe('OP_INSTANCE_GROW_DISK', () => {
  const grow = (instanceName: string, diskIndex: number, amountMib: number, absolute = false) =>
    ({ type: 'OP_INSTANCE_GROW_DISK', instanceName, diskIndex, amountMib, absolute }) as const;
  const grown = (name: string, index: number, sizeMib: number): EventOf<'DiskGrown'> => ({ type: 'DiskGrown', data: { instanceUuid: instanceUuid(name), index, sizeMib } });
  const cluster = [
    ...withShared,
    ...running('sf1', 'n2', { diskTemplate: 'sharedfile', disks: [sharedFileDisk('sf1', 0, 1024), sharedFileDisk('sf1', 1, 10)] }),
    ...running('i1', 'n1'),
    instanceAdded('db', 'n2', { diskTemplate: 'blockdev', disks: [lun('/dev/mapper/lun1')] }),
  ];

  it('grows by an amount', () => given(...cluster).when(grow('sf1', 0, 512)).then(grown('sf1', 0, 1536)));
  it('grows to an absolute size', () => given(...cluster).when(grow('sf1', 1, 20, true)).then(grown('sf1', 1, 20)));

  it('refuses to shrink', () =>
    given(...cluster).when(grow('sf1', 0, 512, true)).thenRefused('invalid_argument', "disks only grow: disk 0 of 'sf1' is 1024 MiB, 512 MiB asked"));

  it('refuses a disk the instance does not have', () =>
    given(...cluster).when(grow('sf1', 5, 1)).thenRefused('not_found', "instance 'sf1' has no disk 5 (it has 2)"));

  it('refuses an instance that does not exist', () => given(...cluster).when(grow('zz', 0, 1)).thenRefused('not_found', "instance 'zz' does not exist"));

  it('refuses templates whose disks it does not size', () => {
    given(...cluster).when(grow('i1', 0, 1)).thenRefused('not_supported', "'diskless' does not support grow-disk");
    given(...cluster).when(grow('db', 0, 1)).thenRefused('not_supported', "'blockdev' disks are adopted devices; grow them on the storage side");
  });

  it('grows a file disk up to the node’s declared local disk, and no further', () => {
    given(...localDisk).when(grow('f1', 0, 400)).then(grown('f1', 0, 1000));
    given(...localDisk).when(grow('f1', 0, 401)).thenRefused('insufficient_resources', "node 'n1' has 400 MiB of local disk free, 401 MiB needed");
    given(...localDisk).when(grow('f1', 0, 1001, true)).thenRefused('insufficient_resources', "node 'n1' has 400 MiB of local disk free, 401 MiB needed");
  });

  it('sets no limit on a node that declared no local disk', () =>
    given(...withShared, instanceAdded('f1', 'n1', { diskTemplate: 'file', disks: [fileDisk('f1', 0, 64)] })).when(grow('f1', 0, 1_000_000)).then(grown('f1', 0, 1_000_064)));
});

describe('OP_INSTANCE_ACTIVATE_DISKS', () => {
  it('attaches every disk on the primary; where each appears is filled in by the engine', () =>
    given(...withShared, instanceAdded('f1', 'n3', { diskTemplate: 'file', disks: [fileDisk('f1', 0, 64), fileDisk('f1', 1, 1)] }))
      .when({ type: 'OP_INSTANCE_ACTIVATE_DISKS', instanceName: 'f1' })
      .then({ type: 'DisksActivated', data: { instanceUuid: instanceUuid('f1'), nodeUuid: nodeUuid('n3'), devices: ['', ''] } }));

  it('refuses an instance without disks', () =>
    given(...withShared, instanceAdded('i1', 'n1'))
      .when({ type: 'OP_INSTANCE_ACTIVATE_DISKS', instanceName: 'i1' })
      .thenRefused('not_supported', "'diskless' does not support activate-disks"));

  it('refuses an instance that does not exist', () =>
    given(...withShared).when({ type: 'OP_INSTANCE_ACTIVATE_DISKS', instanceName: 'zz' }).thenRefused('not_found', "instance 'zz' does not exist"));
});

describe('OP_INSTANCE_DEACTIVATE_DISKS', () => {
  const f1 = instanceAdded('f1', 'n3', { diskTemplate: 'file', disks: [fileDisk('f1', 0, 64)] });

  it('detaches the disks of a stopped instance', () =>
    given(...withShared, f1, disksActivated('f1', 'n3', ['/dev/loop0']))
      .when({ type: 'OP_INSTANCE_DEACTIVATE_DISKS', instanceName: 'f1' })
      .then({ type: 'DisksDeactivated', data: { instanceUuid: instanceUuid('f1'), nodeUuid: nodeUuid('n3') } }));

  it('has nothing to do when the disks are not active', () =>
    given(...withShared, f1).when({ type: 'OP_INSTANCE_DEACTIVATE_DISKS', instanceName: 'f1' }).then());

  it('refuses a running instance', () =>
    given(...withShared, f1, instanceStarted('f1', 'n3'))
      .when({ type: 'OP_INSTANCE_DEACTIVATE_DISKS', instanceName: 'f1' })
      .thenRefused('wrong_state', "instance 'f1' is running; stop it before deactivating its disks"));

  it('refuses an instance without disks', () =>
    given(...withShared, instanceAdded('i1', 'n1'))
      .when({ type: 'OP_INSTANCE_DEACTIVATE_DISKS', instanceName: 'i1' })
      .thenRefused('not_supported', "'diskless' does not support activate-disks"));

  it('refuses an instance that does not exist', () =>
    given(...withShared).when({ type: 'OP_INSTANCE_DEACTIVATE_DISKS', instanceName: 'zz' }).thenRefused('not_found', "instance 'zz' does not exist"));
});
