import { describe, expect, it } from 'vitest';
import type { ClusterEvent } from '../../../src/domain/events.js';
import { planSaga } from '../../../src/engine/sagas/index.js';
import { clusterWith, disk, instanceAdded, target } from './fixtures.js';

const d0 = disk(0, 'f1/disk0');
const d1 = disk(1, 'f1/disk1', { sizeMib: 64 });
const e0 = disk(0, 'vol-3', { pool: 'nas1' });
const state = () => clusterWith(instanceAdded('f1', 'file', [d0, d1], 'n3'), instanceAdded('e1', 'ext', [e0]));

describe('grow saga', () => {
  it('grows the one disk on the primary to the decided size, with no undo (disks never shrink)', () => {
    const event: ClusterEvent = { type: 'DiskGrown', data: { instanceUuid: 'uuid-f1', index: 1, sizeMib: 128 } };
    const plan = planSaga(state(), [event]);
    expect(plan.steps).toEqual([{ effect: { kind: 'disk', action: 'grow', target: target('f1', 'file', d1, 'n3'), sizeMib: 128 }, part: 0 }]);
  });

  it('records the size the storage says the disk has, or the decided one when it says none', () => {
    const event: ClusterEvent = { type: 'DiskGrown', data: { instanceUuid: 'uuid-f1', index: 1, sizeMib: 128 } };
    const plan = planSaga(state(), [event]);
    expect(plan.finish([{ sizeMib: 132 }])).toEqual([{ type: 'DiskGrown', data: { instanceUuid: 'uuid-f1', index: 1, sizeMib: 132 } }]);
    expect(plan.finish([{}])).toEqual([event]);
  });

  it('asks an ext disk\'s pool driver', () => {
    const event: ClusterEvent = { type: 'DiskGrown', data: { instanceUuid: 'uuid-e1', index: 0, sizeMib: 4096 } };
    expect(planSaga(state(), [event]).steps).toEqual([{ effect: { kind: 'disk', action: 'grow', target: target('e1', 'ext', e0), sizeMib: 4096 }, part: 0 }]);
  });

  it('has no step for a disk it does not know', () => {
    const event: ClusterEvent = { type: 'DiskGrown', data: { instanceUuid: 'uuid-f1', index: 5, sizeMib: 128 } };
    const plan = planSaga(state(), [event]);
    expect(plan.steps).toEqual([]);
    expect(plan.finish([])).toEqual([event]);
  });
});
