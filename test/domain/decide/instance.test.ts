import { describe, it } from 'vitest';
import type { EventOf } from '../../../src/domain/events.js';
import { given } from '../decider-spec.js';
import {
  disksActivated,
  fileDisk,
  instanceAdded,
  instanceStopped,
  instanceUuid,
  nodeModified,
  nodeUuid,
  running,
  sharedFileDisk,
  threeNodes,
} from './history.js';

/** What OP_INSTANCE_CREATE records for a new instance: its uuid is the first one drawn. */
const added = (name: string, node: string, over: Partial<EventOf<'InstanceAdded'>['data']> = {}): EventOf<'InstanceAdded'> =>
  instanceAdded(name, node, { instanceUuid: 'u1', ...over });
const create = { type: 'OP_INSTANCE_CREATE', instanceName: 'i2', diskTemplate: 'diskless', memoryMib: 1024, vcpus: 1, primaryNode: 'n1' } as const;
const cluster = [...threeNodes(), ...running('i1', 'n1')];

describe('OP_INSTANCE_CREATE', () => {
  it('adds and starts an instance in one decision, up to the memory left', () =>
    given(...cluster)
      .when({ ...create, memoryMib: 3072, tags: ['web'] })
      .then(added('i2', 'n1', { memoryMib: 3072, tags: ['web'] }), { type: 'InstanceStarted', data: { instanceUuid: 'u1', nodeUuid: nodeUuid('n1') } }));

  it('adds a stopped instance when told not to start it', () =>
    given(...cluster).when({ ...create, start: false }).then(added('i2', 'n1')));

  it('refuses a duplicate instance', () => given(...cluster).when({ ...create, instanceName: 'i1' }).thenRefused('already_exists', "instance 'i1' already exists"));

  it.each(['drbd', 'plain'] as const)('refuses %s, which this engine does not provision, saying what it does', (template) =>
    given(...cluster)
      .when({ ...create, diskTemplate: template })
      .thenRefused('not_supported', `this engine does not provision '${template}' disks (it provisions diskless, file, sharedfile, blockdev, ext)`));

  it('refuses a template that is not enabled', () =>
    given(...threeNodes({ enabledDiskTemplates: ['diskless'] }))
      .when({ ...create, diskTemplate: 'file', disks: [{ sizeMib: 1 }] })
      .thenRefused('invalid_argument', "disk template 'file' is not enabled on this cluster (enabled: diskless)"));

  it('refuses an instance with neither a node nor an allocator decided', () =>
    given(...cluster).when({ ...create, primaryNode: undefined }).thenRefused('invalid_argument', 'instance add: give the node with -n NODE or -I ALLOCATOR'));

  it('refuses a node that does not exist', () => given(...cluster).when({ ...create, primaryNode: 'n9' }).thenRefused('not_found', "node 'n9' does not exist"));

  it.each([
    ['offline', { offline: true }, "node 'n2' is offline"],
    ['drained', { drained: true }, "node 'n2' is drained and takes no new instances"],
    ['not vm-capable', { vmCapable: false }, "node 'n2' is not vm-capable"],
  ])('refuses a node that is %s', (_flag, changes, message) =>
    given(...cluster, nodeModified('n2', changes)).when({ ...create, primaryNode: 'n2' }).thenRefused('wrong_state', message));

  it('refuses more memory than the node has free, stopped instances counted', () =>
    given(...cluster)
      .when({ ...create, memoryMib: 3073 })
      .thenRefused('insufficient_resources', "node 'n1' has 3072 MiB of memory free, 3073 MiB needed"));

  it('refuses more vcpus than the node’s cpus times the vcpu ratio', () =>
    given(...cluster)
      .when({ ...create, vcpus: 8 })
      .thenRefused('insufficient_resources', "node 'n1' would carry 9 vcpus, more than its limit of 8 (2 cpus × vcpu-ratio 4)"));
});

describe('OP_INSTANCE_REMOVE', () => {
  it('stops a running instance and deactivates its disks before removing it', () =>
    given(...threeNodes(), ...running('f1', 'n1', { diskTemplate: 'file', disks: [fileDisk('f1', 0, 64)] }), disksActivated('f1', 'n1', ['/dev/loop0']))
      .when({ type: 'OP_INSTANCE_REMOVE', instanceName: 'f1' })
      .then(
        instanceStopped('f1', 'n1'),
        { type: 'DisksDeactivated', data: { instanceUuid: instanceUuid('f1'), nodeUuid: nodeUuid('n1') } },
        { type: 'InstanceRemoved', data: { instanceUuid: instanceUuid('f1'), instanceName: 'f1' } },
      ));

  it('removes a stopped instance at once', () =>
    given(...threeNodes(), instanceAdded('i1', 'n1'))
      .when({ type: 'OP_INSTANCE_REMOVE', instanceName: 'i1' })
      .then({ type: 'InstanceRemoved', data: { instanceUuid: instanceUuid('i1'), instanceName: 'i1' } }));

  it('refuses an instance that does not exist', () =>
    given(...cluster).when({ type: 'OP_INSTANCE_REMOVE', instanceName: 'zz' }).thenRefused('not_found', "instance 'zz' does not exist"));
});

describe('OP_INSTANCE_STARTUP', () => {
  it('starts a stopped instance on its primary', () =>
    given(...threeNodes(), instanceAdded('i1', 'n2')).when({ type: 'OP_INSTANCE_STARTUP', instanceName: 'i1' }).then({ type: 'InstanceStarted', data: { instanceUuid: instanceUuid('i1'), nodeUuid: nodeUuid('n2') } }));

  it('starts an instance recorded running again: a guest that died is brought back (ERROR_down), one that runs is left as it is by the idempotent start', () =>
    given(...cluster).when({ type: 'OP_INSTANCE_STARTUP', instanceName: 'i1' }).then({ type: 'InstanceStarted', data: { instanceUuid: instanceUuid('i1'), nodeUuid: nodeUuid('n1') } }));

  it('refuses to start on an offline primary', () =>
    given(...threeNodes(), instanceAdded('i1', 'n2'), nodeModified('n2', { offline: true }))
      .when({ type: 'OP_INSTANCE_STARTUP', instanceName: 'i1' })
      .thenRefused('wrong_state', "instance 'i1' cannot start: its primary node is offline"));

  it('refuses an instance that does not exist', () =>
    given(...cluster).when({ type: 'OP_INSTANCE_STARTUP', instanceName: 'zz' }).thenRefused('not_found', "instance 'zz' does not exist"));
});

describe('OP_INSTANCE_SHUTDOWN', () => {
  it('stops a running instance', () => given(...cluster).when({ type: 'OP_INSTANCE_SHUTDOWN', instanceName: 'i1' }).then(instanceStopped('i1', 'n1')));

  it('has nothing to do for a stopped instance', () =>
    given(...cluster, instanceStopped('i1', 'n1')).when({ type: 'OP_INSTANCE_SHUTDOWN', instanceName: 'i1' }).then());

  it('refuses an instance that does not exist', () =>
    given(...cluster).when({ type: 'OP_INSTANCE_SHUTDOWN', instanceName: 'zz' }).thenRefused('not_found', "instance 'zz' does not exist"));
});

describe('OP_INSTANCE_REBOOT', () => {
  it('stops a running instance on its primary and starts it there again, in one job', () =>
    given(...cluster)
      .when({ type: 'OP_INSTANCE_REBOOT', instanceName: 'i1' })
      .then(instanceStopped('i1', 'n1'), { type: 'InstanceStarted', data: { instanceUuid: instanceUuid('i1'), nodeUuid: nodeUuid('n1') } }));

  it("gives the guest the shutdown timeout asked for; full lets go of its disks between stop and start, and takes back those that were active", () => {
    const started = { type: 'InstanceStarted', data: { instanceUuid: instanceUuid('d1'), nodeUuid: nodeUuid('n1') } } as const;
    const deactivated = { type: 'DisksDeactivated', data: { instanceUuid: instanceUuid('d1'), nodeUuid: nodeUuid('n1') } } as const;
    const stoppedIn = (timeoutSeconds: number) => ({ type: 'InstanceStopped', data: { instanceUuid: instanceUuid('d1'), nodeUuid: nodeUuid('n1'), timeoutSeconds } }) as const;
    const withDisk = [...threeNodes({ sharedFileStorageDir: '/srv/shared' }), ...running('d1', 'n1', { diskTemplate: 'sharedfile', disks: [sharedFileDisk('d1', 0, 64)] })];
    given(...withDisk).when({ type: 'OP_INSTANCE_REBOOT', instanceName: 'd1', rebootType: 'full', shutdownTimeoutSeconds: 5 }).then(stoppedIn(5), deactivated, started);
    given(...withDisk, disksActivated('d1', 'n1', ['/srv/shared/d1/disk0']))
      .when({ type: 'OP_INSTANCE_REBOOT', instanceName: 'd1', rebootType: 'full', shutdownTimeoutSeconds: 0 })
      .then(stoppedIn(0), deactivated, disksActivated('d1', 'n1', ['']), started);
    // soft and hard are the same stop and start, as on Ganeti's kvm; a diskless instance's full one has no disks to let go of.
    given(...withDisk).when({ type: 'OP_INSTANCE_REBOOT', instanceName: 'd1', rebootType: 'soft', shutdownTimeoutSeconds: 5 }).then(stoppedIn(5), started);
    given(...cluster).when({ type: 'OP_INSTANCE_REBOOT', instanceName: 'i1', rebootType: 'full' }).then(instanceStopped('i1', 'n1'), { type: 'InstanceStarted', data: { instanceUuid: instanceUuid('i1'), nodeUuid: nodeUuid('n1') } });
    given(...cluster)
      .when({ type: 'OP_INSTANCE_REMOVE', instanceName: 'i1', shutdownTimeoutSeconds: 7 })
      .then({ type: 'InstanceStopped', data: { instanceUuid: instanceUuid('i1'), nodeUuid: nodeUuid('n1'), timeoutSeconds: 7 } }, { type: 'InstanceRemoved', data: { instanceUuid: instanceUuid('i1'), instanceName: 'i1' } });
    given(...cluster).when({ type: 'OP_INSTANCE_SHUTDOWN', instanceName: 'i1', timeoutSeconds: 30 }).then({ type: 'InstanceStopped', data: { instanceUuid: instanceUuid('i1'), nodeUuid: nodeUuid('n1'), timeoutSeconds: 30 } });
  });

  it('refuses a stopped instance, saying how to start it', () =>
    given(...cluster, instanceStopped('i1', 'n1'))
      .when({ type: 'OP_INSTANCE_REBOOT', instanceName: 'i1' })
      .thenRefused('wrong_state', "instance 'i1' is stopped: start it with 'opl instance start i1'"));

  it('refuses an instance whose primary is offline, and one that does not exist', () => {
    given(...cluster, nodeModified('n1', { offline: true }))
      .when({ type: 'OP_INSTANCE_REBOOT', instanceName: 'i1' })
      .thenRefused('wrong_state', "instance 'i1' cannot be rebooted: its primary node is offline");
    given(...cluster).when({ type: 'OP_INSTANCE_REBOOT', instanceName: 'zz' }).thenRefused('not_found', "instance 'zz' does not exist");
  });
});

describe('OP_INSTANCE_SET_PARAMS', () => {
  it('records only what changes, up to the memory and vcpus the node has left', () =>
    given(...cluster)
      .when({ type: 'OP_INSTANCE_SET_PARAMS', instanceName: 'i1', memoryMib: 4096, vcpus: 8, tags: ['db'] })
      .then({ type: 'InstanceModified', data: { instanceUuid: instanceUuid('i1'), memoryMib: 4096, vcpus: 8, tags: ['db'] } }));

  it('lets an instance shrink on a full node', () =>
    given(...threeNodes(), ...running('i1', 'n1', { memoryMib: 4096 }))
      .when({ type: 'OP_INSTANCE_SET_PARAMS', instanceName: 'i1', memoryMib: 2048 })
      .then({ type: 'InstanceModified', data: { instanceUuid: instanceUuid('i1'), memoryMib: 2048 } }));

  it('refuses a modify that changes nothing', () =>
    given(...cluster)
      .when({ type: 'OP_INSTANCE_SET_PARAMS', instanceName: 'i1' })
      .thenRefused('invalid_argument', 'instance modify: nothing to change; give --memory, --vcpus, --tags or -H'));

  it('refuses a memory increase beyond the node', () =>
    given(...cluster)
      .when({ type: 'OP_INSTANCE_SET_PARAMS', instanceName: 'i1', memoryMib: 5000 })
      .thenRefused('insufficient_resources', "node 'n1' has 3072 MiB of memory free, 3976 MiB more needed"));

  it('refuses more vcpus than the node’s limit', () =>
    given(...cluster)
      .when({ type: 'OP_INSTANCE_SET_PARAMS', instanceName: 'i1', vcpus: 9 })
      .thenRefused('insufficient_resources', "node 'n1' would exceed its limit of 8 vcpus"));

  it('refuses an instance that does not exist', () =>
    given(...cluster).when({ type: 'OP_INSTANCE_SET_PARAMS', instanceName: 'zz', tags: [] }).thenRefused('not_found', "instance 'zz' does not exist"));
});

describe('OP_INSTANCE_RENAME', () => {
  const sharedCluster = [
    ...threeNodes({ sharedFileStorageDir: '/srv/shared' }),
    instanceAdded('f1', 'n3', { diskTemplate: 'file', disks: [fileDisk('f1', 0, 64)] }),
    instanceAdded('sf1', 'n2', { diskTemplate: 'sharedfile', disks: [sharedFileDisk('sf1', 0, 1024), sharedFileDisk('sf1', 1, 10)] }),
  ];

  it('renames a stopped instance and the file disks named after it', () =>
    given(...sharedCluster)
      .when({ type: 'OP_INSTANCE_RENAME', instanceName: 'sf1', newName: 'sf2' })
      .then({ type: 'InstanceRenamed', data: { instanceUuid: instanceUuid('sf1'), oldName: 'sf1', newName: 'sf2', logicalIds: ['/srv/shared/sf2/disk0', '/srv/shared/sf2/disk1'] } }));

  it('renames node-local file disks relative to the node’s directory', () =>
    given(...sharedCluster)
      .when({ type: 'OP_INSTANCE_RENAME', instanceName: 'f1', newName: 'f2' })
      .then({ type: 'InstanceRenamed', data: { instanceUuid: instanceUuid('f1'), oldName: 'f1', newName: 'f2', logicalIds: ['f2/disk0'] } }));

  it('keeps the path of an adopted device', () =>
    given(...threeNodes(), instanceAdded('lun', 'n1', { diskTemplate: 'blockdev', disks: [{ index: 0, sizeMib: 100, logicalId: '/dev/disk/by-id/wwn-1', params: {}, adopted: true }] }))
      .when({ type: 'OP_INSTANCE_RENAME', instanceName: 'lun', newName: 'lun2' })
      .then({ type: 'InstanceRenamed', data: { instanceUuid: instanceUuid('lun'), oldName: 'lun', newName: 'lun2', logicalIds: ['/dev/disk/by-id/wwn-1'] } }));

  it('keeps a driver-named disk’s id: the driver’s rename prints the new one', () =>
    given(...threeNodes(), instanceAdded('vol', 'n2', { diskTemplate: 'ext', disks: [{ index: 0, sizeMib: 100, logicalId: 'nas-vol-7', pool: 'nas', params: {}, adopted: false }] }))
      .when({ type: 'OP_INSTANCE_RENAME', instanceName: 'vol', newName: 'vol2' })
      .then({ type: 'InstanceRenamed', data: { instanceUuid: instanceUuid('vol'), oldName: 'vol', newName: 'vol2', logicalIds: ['nas-vol-7'] } }));

  it('refuses an instance that does not exist', () =>
    given(...sharedCluster).when({ type: 'OP_INSTANCE_RENAME', instanceName: 'zz', newName: 'yy' }).thenRefused('not_found', "instance 'zz' does not exist"));

  it('refuses a name that is taken', () =>
    given(...sharedCluster).when({ type: 'OP_INSTANCE_RENAME', instanceName: 'f1', newName: 'sf1' }).thenRefused('already_exists', "instance 'sf1' already exists"));

  it('refuses a running instance', () =>
    given(...sharedCluster, { type: 'InstanceStarted', data: { instanceUuid: instanceUuid('sf1'), nodeUuid: nodeUuid('n2') } })
      .when({ type: 'OP_INSTANCE_RENAME', instanceName: 'sf1', newName: 'sf2' })
      .thenRefused('wrong_state', "instance 'sf1' is running; stop it before renaming it"));

  it('refuses an instance whose disks are active', () =>
    given(...sharedCluster, disksActivated('f1', 'n3', ['/dev/loop0']))
      .when({ type: 'OP_INSTANCE_RENAME', instanceName: 'f1', newName: 'f2' })
      .thenRefused('wrong_state', "instance 'f1' has active disks; deactivate them before renaming it"));
});
