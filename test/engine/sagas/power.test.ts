import { describe, expect, it } from 'vitest';
import type { ClusterEvent } from '../../../src/domain/events.js';
import type { EffectOutcome } from '../../../src/engine/sagas/effect.js';
import { planSaga } from '../../../src/engine/sagas/index.js';
import type { EarlierStep, Step } from '../../../src/engine/sagas/saga.js';
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

  it('a kvm guest made by the same job attaches each disk by the name its create answered, and is given what attach answered', () => {
    const made = instanceAdded('k1', 'sharedfile', [disk(0, '')], 'n2', { memoryMib: 512, vcpus: 1, hypervisor: 'kvm' });
    const started: ClusterEvent = { type: 'InstanceStarted', data: { instanceUuid: 'uuid-k1', nodeUuid: 'node-n2' } };
    const plan = planSaga(clusterWith(), [made, started]);
    expect(plan.steps.map((s) => s.part)).toEqual([0, 1, 1]);
    const [create, attach, start] = plan.steps as unknown as [Step, Step, Step];
    const resolve = (step: Step, earlier: (EffectOutcome | undefined)[], before: EarlierStep[]) => (typeof step.effect === 'function' ? step.effect(earlier, before) : step.effect);
    const before = [{ effect: create.effect, outcome: { logicalId: '/srv/shared/k1/disk0' } }];
    expect(resolve(attach, [], before)).toMatchObject({ kind: 'disk', action: 'attach', target: { nodeName: 'n2', disk: { index: 0, logicalId: '/srv/shared/k1/disk0' } } });
    expect(resolve(start, [{ device: '/dev/k1-disk0' }], [...before, { effect: attach.effect, outcome: { device: '/dev/k1-disk0' } }])).toEqual({
      kind: 'hypervisor', action: 'start', nodeName: 'n2', instance: { ...hv('k1', 512, 1), hypervisor: 'kvm', disks: ['/dev/k1-disk0'] },
    });
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
