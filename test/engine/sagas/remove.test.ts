import { describe, expect, it } from 'vitest';
import type { ClusterEvent } from '../../../src/domain/events.js';
import { planSaga } from '../../../src/engine/sagas/index.js';
import { clusterWith, disk, hv, instanceAdded, target } from './fixtures.js';

const removed = (name: string): ClusterEvent => ({ type: 'InstanceRemoved', data: { instanceUuid: `uuid-${name}`, instanceName: name } });

describe('remove saga', () => {
  it('has the hypervisor forget the instance, then removes its disks; nothing is undone', () => {
    const d0 = disk(0, 'f1/disk0');
    const d1 = disk(1, 'f1/disk1');
    const plan = planSaga(clusterWith(instanceAdded('f1', 'file', [d0, d1], 'n2')), [removed('f1')]);
    expect(plan.steps).toEqual([
      { effect: { kind: 'hypervisor', action: 'cleanup', nodeName: 'n2', instance: hv('f1') }, part: 0 },
      { effect: { kind: 'disk', action: 'remove', target: target('f1', 'file', d0, 'n2') }, part: 0 },
      { effect: { kind: 'disk', action: 'remove', target: target('f1', 'file', d1, 'n2') }, part: 0 },
    ]);
    expect(plan.parts[0]!.keepsOnFailure).toBeUndefined();
    expect(plan.finish([{}, {}, {}])).toEqual([removed('f1')]);
  });

  it('removes an ext volume through its pool\'s driver', () => {
    const e0 = disk(0, 'vol-4', { pool: 'nas1' });
    const plan = planSaga(clusterWith(instanceAdded('e1', 'ext', [e0])), [removed('e1')]);
    expect(plan.steps.map((s) => s.effect)).toEqual([
      { kind: 'hypervisor', action: 'cleanup', nodeName: 'n1', instance: hv('e1') },
      { kind: 'disk', action: 'remove', target: target('e1', 'ext', e0) },
    ]);
  });

  it('does not remove adopted devices: they belong to the storage team', () => {
    const plan = planSaga(clusterWith(instanceAdded('b1', 'blockdev', [disk(0, '/dev/disk/by-id/lun-2', { adopted: true }), disk(1, '/dev/mapper/lun-3', { adopted: true })])), [removed('b1')]);
    expect(plan.steps).toEqual([{ effect: { kind: 'hypervisor', action: 'cleanup', nodeName: 'n1', instance: hv('b1') }, part: 0 }]);
  });
});
