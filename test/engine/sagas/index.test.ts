import { describe, expect, it } from 'vitest';
import type { ClusterEvent, EventOf } from '../../../src/domain/events.js';
import { needsSaga, planSaga } from '../../../src/engine/sagas/index.js';
import { clusterWith, disk, hv, instanceAdded, target } from './fixtures.js';

describe('planSaga over several decided events', () => {
  it('create + start: the start finds the instance the create makes; finish gives each event its own outcomes', () => {
    const d0 = disk(0, '', { pool: 'nas1' });
    const d1 = disk(1, '', { pool: 'nas1', sizeMib: 10 });
    const added = instanceAdded('e1', 'ext', [d0, d1], 'n2');
    const started: ClusterEvent = { type: 'InstanceStarted', data: { instanceUuid: 'uuid-e1', nodeUuid: 'node-n2' } };
    const plan = planSaga(clusterWith(), [added, started]);
    expect(plan.steps).toEqual([
      { effect: { kind: 'disk', action: 'create', target: target('e1', 'ext', d0, 'n2') }, undo: expect.any(Function), part: 0 },
      { effect: { kind: 'disk', action: 'create', target: target('e1', 'ext', d1, 'n2') }, undo: expect.any(Function), part: 0 },
      { effect: { kind: 'hypervisor', action: 'start', nodeName: 'n2', instance: hv('e1') }, undo: expect.any(Function), part: 1 },
    ]);
    expect(plan.finish([{ logicalId: 'vol-1', sizeMib: 1024 }, { logicalId: 'vol-2', sizeMib: 16 }, {}])).toEqual([
      { ...added, data: { ...added.data, disks: [{ ...d0, logicalId: 'vol-1' }, { ...d1, logicalId: 'vol-2', sizeMib: 16 }] } },
      started,
    ]);
  });

  it('stop + deactivate + remove: steps in decided order, parts told apart, the first two kept on failure', () => {
    const d0 = disk(0, '/srv/shared/s1/disk0');
    const d1 = disk(1, '/srv/shared/s1/disk1');
    const state = clusterWith(
      instanceAdded('s1', 'sharedfile', [d0, d1]),
      { type: 'InstanceStarted', data: { instanceUuid: 'uuid-s1', nodeUuid: 'node-n1' } },
      { type: 'DisksActivated', data: { instanceUuid: 'uuid-s1', nodeUuid: 'node-n1', devices: ['/dev/loop0', '/dev/loop1'] } },
    );
    const events: ClusterEvent[] = [
      { type: 'InstanceStopped', data: { instanceUuid: 'uuid-s1', nodeUuid: 'node-n1' } },
      { type: 'DisksDeactivated', data: { instanceUuid: 'uuid-s1', nodeUuid: 'node-n1' } },
      { type: 'InstanceRemoved', data: { instanceUuid: 'uuid-s1', instanceName: 's1' } },
    ];
    const plan = planSaga(state, events);
    const on = (d: typeof d0) => target('s1', 'sharedfile', d);
    expect(plan.steps).toEqual([
      { effect: { kind: 'hypervisor', action: 'stop', nodeName: 'n1', instance: hv('s1') }, part: 0 },
      { effect: { kind: 'disk', action: 'detach', target: on(d0) }, part: 1 },
      { effect: { kind: 'disk', action: 'detach', target: on(d1) }, part: 1 },
      { effect: { kind: 'hypervisor', action: 'cleanup', nodeName: 'n1', instance: hv('s1') }, part: 2 },
      { effect: { kind: 'disk', action: 'remove', target: on(d0) }, part: 2 },
      { effect: { kind: 'disk', action: 'remove', target: on(d1) }, part: 2 },
    ]);
    expect(plan.parts.map((p) => p.keepsOnFailure ?? false)).toEqual([true, true, false]);
    expect(plan.finish(plan.steps.map(() => ({})))).toEqual(events);
    // A removal that fails at its second disk keeps the stop and the detaches, not the removal.
    expect(plan.keptOnFailure([{}, {}, {}, {}, {}, undefined])).toEqual(events.slice(0, 2));
    // One that fails at the second detach keeps only the stop.
    expect(plan.keptOnFailure([{}, {}, undefined, undefined, undefined, undefined])).toEqual(events.slice(0, 1));
  });

  it('records configuration-only events as decided, between the parts that have steps', () => {
    const d0 = disk(0, 'f1/disk0');
    const modified: ClusterEvent = { type: 'InstanceModified', data: { instanceUuid: 'uuid-f1', memoryMib: 2048 } };
    const grown: EventOf<'DiskGrown'> = { type: 'DiskGrown', data: { instanceUuid: 'uuid-f1', index: 0, sizeMib: 2048 } };
    const plan = planSaga(clusterWith(instanceAdded('f1', 'file', [d0])), [modified, grown]);
    expect(plan.steps).toEqual([{ effect: { kind: 'disk', action: 'grow', target: target('f1', 'file', d0), sizeMib: 2048 }, part: 1 }]);
    expect(plan.finish([{ sizeMib: 2049 }])).toEqual([modified, { ...grown, data: { ...grown.data, sizeMib: 2049 } }]);
  });

  it('needs a saga only when an event touches the world', () => {
    const modified: ClusterEvent = { type: 'InstanceModified', data: { instanceUuid: 'uuid-f1', tags: ['a'] } };
    const started: ClusterEvent = { type: 'InstanceStarted', data: { instanceUuid: 'uuid-f1', nodeUuid: 'node-n1' } };
    expect(needsSaga([modified, { type: 'GroupAdded', data: { groupUuid: 'g', groupName: 'g' } }])).toBe(false);
    expect(needsSaga([modified, started])).toBe(true);
    expect(needsSaga([])).toBe(false);
  });
});
