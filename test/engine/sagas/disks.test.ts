import { describe, expect, it } from 'vitest';
import type { ClusterEvent } from '../../../src/domain/events.js';
import { planSaga } from '../../../src/engine/sagas/index.js';
import { clusterWith, disk, instanceAdded, target } from './fixtures.js';

const d0 = disk(0, '/srv/shared/s1/disk0');
const d1 = disk(1, '/srv/shared/s1/disk1');
const state = () => clusterWith(instanceAdded('s1', 'sharedfile', [d0, d1], 'n3'));

describe('activate-disks saga', () => {
  it('attaches each disk on the primary; undone, detaches it; records where each appeared', () => {
    const event: ClusterEvent = { type: 'DisksActivated', data: { instanceUuid: 'uuid-s1', nodeUuid: 'node-n3', devices: ['', ''] } };
    const plan = planSaga(state(), [event]);
    expect(plan.steps).toEqual([
      { effect: { kind: 'disk', action: 'attach', target: target('s1', 'sharedfile', d0, 'n3') }, undo: expect.any(Function), part: 0 },
      { effect: { kind: 'disk', action: 'attach', target: target('s1', 'sharedfile', d1, 'n3') }, undo: expect.any(Function), part: 0 },
    ]);
    expect(plan.steps[1]!.undo!({ device: '/dev/loop1' })).toEqual({ kind: 'disk', action: 'detach', target: target('s1', 'sharedfile', d1, 'n3') });
    expect(plan.finish([{ device: '/dev/loop0' }, { device: '/dev/loop1' }])).toEqual([
      { type: 'DisksActivated', data: { instanceUuid: 'uuid-s1', nodeUuid: 'node-n3', devices: ['/dev/loop0', '/dev/loop1'] } },
    ]);
  });

  it('attaches an ext disk through its pool\'s driver', () => {
    const e0 = disk(0, 'vol-9', { pool: 'nas1' });
    const event: ClusterEvent = { type: 'DisksActivated', data: { instanceUuid: 'uuid-e1', nodeUuid: 'node-n1', devices: [''] } };
    const plan = planSaga(clusterWith(instanceAdded('e1', 'ext', [e0])), [event]);
    expect(plan.steps.map((s) => s.effect)).toEqual([{ kind: 'disk', action: 'attach', target: target('e1', 'ext', e0) }]);
    expect(plan.finish([{ device: '/dev/rbd0' }])).toEqual([{ ...event, data: { ...event.data, devices: ['/dev/rbd0'] } }]);
  });
});

describe('deactivate-disks saga', () => {
  it('detaches each disk on the primary, with no undo, and is kept when a later part of its saga fails', () => {
    const event: ClusterEvent = { type: 'DisksDeactivated', data: { instanceUuid: 'uuid-s1', nodeUuid: 'node-n3' } };
    const plan = planSaga(state(), [event]);
    expect(plan.steps).toEqual([
      { effect: { kind: 'disk', action: 'detach', target: target('s1', 'sharedfile', d0, 'n3') }, part: 0 },
      { effect: { kind: 'disk', action: 'detach', target: target('s1', 'sharedfile', d1, 'n3') }, part: 0 },
    ]);
    expect(plan.parts[0]!.keepsOnFailure).toBe(true);
    expect(plan.finish([{}, {}])).toEqual([event]);
  });
});
