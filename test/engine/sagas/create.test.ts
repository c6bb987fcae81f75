import { describe, expect, it } from 'vitest';
import type { EventOf } from '../../../src/domain/events.js';
import { planSaga } from '../../../src/engine/sagas/index.js';
import { clusterWith, disk, foldInto, instanceAdded, target } from './fixtures.js';

/** The create saga runs once its decision is folded: the instance is held, not yet in the configuration. */
const begun = (event: EventOf<'InstanceAdded'>) => foldInto(clusterWith(), { type: 'SagaBegun', data: { sagaId: 'job-1/op-0', jobId: 1, opIndex: 0, events: [event] } });

describe('create saga', () => {
  it('has no step for a diskless instance, and records the event as decided', () => {
    const event = instanceAdded('d1', 'diskless', []);
    const plan = planSaga(begun(event), [event]);
    expect(plan.steps).toEqual([]);
    expect(plan.finish([])).toEqual([event]);
  });

  it('creates each file disk on the primary; undone, removes what the create named; records names and sizes', () => {
    const d0 = disk(0, 'f1/disk0');
    const d1 = disk(1, 'f1/disk1', { sizeMib: 64 });
    const event = instanceAdded('f1', 'file', [d0, d1], 'n2');
    const plan = planSaga(begun(event), [event]);
    expect(plan.steps).toEqual([
      { effect: { kind: 'disk', action: 'create', target: target('f1', 'file', d0, 'n2') }, undo: expect.any(Function), part: 0 },
      { effect: { kind: 'disk', action: 'create', target: target('f1', 'file', d1, 'n2') }, undo: expect.any(Function), part: 0 },
    ]);
    expect(plan.steps[1]!.undo!({ logicalId: 'f1/disk1', sizeMib: 64 })).toEqual({ kind: 'disk', action: 'remove', target: target('f1', 'file', d1, 'n2') });
    const [recorded] = plan.finish([{ logicalId: 'f1/disk0', sizeMib: 1030 }, { logicalId: 'f1/disk1' }]);
    expect(recorded).toEqual({ ...event, data: { ...event.data, disks: [{ ...d0, sizeMib: 1030 }, d1] } });
  });

  it('creates sharedfile disks under the shared directory, seen by every online node of the group', () => {
    const d0 = disk(0, '/srv/shared/s1/disk0');
    const event = instanceAdded('s1', 'sharedfile', [d0]);
    const plan = planSaga(begun(event), [event]);
    expect(plan.steps).toEqual([{ effect: { kind: 'disk', action: 'create', target: target('s1', 'sharedfile', d0) }, undo: expect.any(Function), part: 0 }]);
    expect(plan.steps[0]!.undo!({ logicalId: '/srv/shared/s1/disk0' })).toEqual({ kind: 'disk', action: 'remove', target: target('s1', 'sharedfile', d0) });
  });

  it('adopts a blockdev device with no undo (the device is the storage team\'s) and records the size it has', () => {
    const d0 = disk(0, '/dev/disk/by-id/lun-7', { sizeMib: 0, adopted: true });
    const event = instanceAdded('b1', 'blockdev', [d0]);
    const plan = planSaga(begun(event), [event]);
    expect(plan.steps).toEqual([{ effect: { kind: 'disk', action: 'create', target: target('b1', 'blockdev', d0) }, part: 0 }]);
    expect(plan.steps[0]!.undo).toBeUndefined();
    const [recorded] = plan.finish([{ logicalId: '/dev/disk/by-id/lun-7', sizeMib: 5120 }]);
    expect((recorded as EventOf<'InstanceAdded'>).data.disks).toEqual([{ ...d0, sizeMib: 5120 }]);
  });

  it('asks the pool\'s driver to create ext disks; undone, removes the volume the driver named; records those names', () => {
    const d0 = disk(0, '', { pool: 'nas1', params: { tier: 'gold' } });
    const d1 = disk(1, '', { pool: 'nas1', sizeMib: 2048 });
    const event = instanceAdded('e1', 'ext', [d0, d1]);
    const plan = planSaga(begun(event), [event]);
    expect(plan.steps).toEqual([
      { effect: { kind: 'disk', action: 'create', target: target('e1', 'ext', d0) }, undo: expect.any(Function), part: 0 },
      { effect: { kind: 'disk', action: 'create', target: target('e1', 'ext', d1) }, undo: expect.any(Function), part: 0 },
    ]);
    expect(target('e1', 'ext', d0).pool).toEqual({ name: 'nas1', driver: 'foostore', params: { export: '/exports' }, timeoutSeconds: 30 });
    expect(plan.steps[0]!.undo!({ logicalId: 'vol-17' })).toEqual({ kind: 'disk', action: 'remove', target: target('e1', 'ext', { ...d0, logicalId: 'vol-17' }) });
    const [recorded] = plan.finish([{ logicalId: 'vol-17' }, { logicalId: 'vol-18', sizeMib: 2050 }]);
    expect((recorded as EventOf<'InstanceAdded'>).data.disks).toEqual([
      { ...d0, logicalId: 'vol-17' },
      { ...d1, logicalId: 'vol-18', sizeMib: 2050 },
    ]);
  });
});
