import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { decideCluster } from '../../src/domain/cluster-decide.js';
import { findInstance } from '../../src/domain/cluster-state.js';
import { Opcode } from '../../src/domain/opcodes.js';
import { sequentialUuids, smallCluster, stateAfter } from './fixtures.js';

const withShared = [
  { type: 'OP_CLUSTER_INIT', clusterName: 'c1', sharedFileStorageDir: '/srv/shared' },
  ...smallCluster().slice(1),
  { type: 'OP_INSTANCE_CREATE', instanceName: 'sf1', diskTemplate: 'sharedfile', memoryMib: 512, vcpus: 1, primaryNode: 'n2', disks: [{ sizeMib: 1024 }, { sizeMib: 10 }] },
  { type: 'OP_INSTANCE_CREATE', instanceName: 'f1', diskTemplate: 'file', memoryMib: 512, vcpus: 1, primaryNode: 'n3', start: false, disks: [{ sizeMib: 64 }] },
];
const decide = (raw: unknown, setup: unknown[] = withShared) => decideCluster(stateAfter(setup), Opcode.parse(raw), sequentialUuids());
const create = (template: string, disks: unknown[], name = 'x') => ({ type: 'OP_INSTANCE_CREATE', instanceName: name, diskTemplate: template, memoryMib: 1, vcpus: 1, primaryNode: 'n1', disks });
const refused = (raw: unknown, setup?: unknown[]) => {
  const d = decide(raw, setup);
  return E.isLeft(d) ? `${d.left.code}: ${d.left.message}` : 'accepted';
};

describe('cluster decider: disks', () => {
  it('places sharedfile disks under the shared directory and file disks per node', () => {
    const state = stateAfter(withShared);
    expect(findInstance(state, 'sf1')!.disks.map((d) => [d.logicalId, d.sizeMib])).toEqual([
      ['/srv/shared/sf1/disk0', 1024],
      ['/srv/shared/sf1/disk1', 10],
    ]);
    expect(findInstance(state, 'f1')!.disks[0]!.logicalId).toBe('f1/disk0');
  });

  it.each([
    ['disks for a diskless instance', create('diskless', [{ sizeMib: 1 }]), /invalid_argument: 'diskless' instances have no disks/],
    ['no disk for a file instance', create('file', []), /'file' instances need at least one disk: --disk 0:size=SIZE/],
    ['adoption for a sharedfile disk', create('sharedfile', [{ adopt: '/dev/x' }]), /'sharedfile' disks are created to a size/],
  ])('refuses %s', (_what, raw, message) => expect(refused(raw)).toMatch(message));

  it('refuses sharedfile disks while the cluster has no shared directory', () => {
    expect(refused(create('sharedfile', [{ sizeMib: 1 }]), smallCluster())).toMatch(/wrong_state: the cluster has no shared file storage directory/);
  });

  it('grows by an amount or to an absolute size, never down', () => {
    const grown = decide({ type: 'OP_INSTANCE_GROW_DISK', instanceName: 'sf1', diskIndex: 0, amountMib: 512 });
    expect(E.isRight(grown) && grown.right[0]!.data).toMatchObject({ index: 0, sizeMib: 1536 });
    const absolute = decide({ type: 'OP_INSTANCE_GROW_DISK', instanceName: 'sf1', diskIndex: 1, amountMib: 20, absolute: true });
    expect(E.isRight(absolute) && absolute.right[0]!.data).toMatchObject({ index: 1, sizeMib: 20 });
    expect(refused({ type: 'OP_INSTANCE_GROW_DISK', instanceName: 'sf1', diskIndex: 0, amountMib: 512, absolute: true })).toMatch(/disks only grow: disk 0 of 'sf1' is 1024 MiB, 512 MiB asked/);
    expect(refused({ type: 'OP_INSTANCE_GROW_DISK', instanceName: 'sf1', diskIndex: 5, amountMib: 1 })).toMatch(/instance 'sf1' has no disk 5 \(it has 2\)/);
    expect(refused({ type: 'OP_INSTANCE_GROW_DISK', instanceName: 'i1', diskIndex: 0, amountMib: 1 })).toMatch(/not_supported: 'diskless' does not support grow-disk/);
  });

  it('renames a stopped instance and the disks named after it; refuses a running one', () => {
    expect(refused({ type: 'OP_INSTANCE_RENAME', instanceName: 'sf1', newName: 'sf2' })).toMatch(/instance 'sf1' is running; stop it before renaming it/);
    expect(refused({ type: 'OP_INSTANCE_RENAME', instanceName: 'f1', newName: 'sf1' })).toMatch(/instance 'sf1' already exists/);
    const state = stateAfter([...withShared, { type: 'OP_INSTANCE_SHUTDOWN', instanceName: 'sf1' }, { type: 'OP_INSTANCE_RENAME', instanceName: 'sf1', newName: 'sf2' }]);
    expect(findInstance(state, 'sf1')).toBeUndefined();
    expect(findInstance(state, 'sf2')!.disks.map((d) => d.logicalId)).toEqual(['/srv/shared/sf2/disk0', '/srv/shared/sf2/disk1']);
  });
});
