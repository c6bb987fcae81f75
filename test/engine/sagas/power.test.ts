import { describe, expect, it } from 'vitest';
import type { ClusterEvent } from '../../../src/domain/events.js';
import { planSaga } from '../../../src/engine/sagas/index.js';
import { clusterWith, disk, hv, instanceAdded } from './fixtures.js';

const state = () => clusterWith(instanceAdded('i1', 'sharedfile', [disk(0, '/srv/shared/i1/disk0')], 'n2', { memoryMib: 512, vcpus: 1 }));

describe('start saga', () => {
  it('starts the instance on its node; undone, stops it there', () => {
    const event: ClusterEvent = { type: 'InstanceStarted', data: { instanceUuid: 'uuid-i1', nodeUuid: 'node-n2' } };
    const plan = planSaga(state(), [event]);
    expect(plan.steps).toEqual([{ effect: { kind: 'hypervisor', action: 'start', nodeName: 'n2', instance: hv('i1', 512, 1) }, undo: expect.any(Function), part: 0 }]);
    expect(plan.steps[0]!.undo!({})).toEqual({ kind: 'hypervisor', action: 'stop', nodeName: 'n2', instance: hv('i1', 512, 1) });
    expect(plan.parts[0]!.keepsOnFailure).toBeUndefined();
    expect(plan.finish([{}])).toEqual([event]);
  });

  it('has no step for an instance it does not know, and records the event as decided', () => {
    const event: ClusterEvent = { type: 'InstanceStarted', data: { instanceUuid: 'uuid-gone', nodeUuid: 'node-n2' } };
    const plan = planSaga(state(), [event]);
    expect(plan.steps).toEqual([]);
    expect(plan.finish([])).toEqual([event]);
  });
});

describe('stop saga', () => {
  it('stops the instance with no undo, and is kept when a later part of its saga fails', () => {
    const event: ClusterEvent = { type: 'InstanceStopped', data: { instanceUuid: 'uuid-i1', nodeUuid: 'node-n2' } };
    const plan = planSaga(state(), [event]);
    expect(plan.steps).toEqual([{ effect: { kind: 'hypervisor', action: 'stop', nodeName: 'n2', instance: hv('i1', 512, 1) }, part: 0 }]);
    expect(plan.parts[0]!.keepsOnFailure).toBe(true);
    expect(plan.finish([{}])).toEqual([event]);
  });
});
