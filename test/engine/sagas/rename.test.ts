import { describe, expect, it } from 'vitest';
import type { ClusterEvent } from '../../../src/domain/events.js';
import type { DiskTemplate } from '../../../src/domain/templates.js';
import { planSaga } from '../../../src/engine/sagas/index.js';
import { clusterWith, disk, instanceAdded, target } from './fixtures.js';

const renamed = (old: string, logicalIds: string[]): ClusterEvent => ({ type: 'InstanceRenamed', data: { instanceUuid: `uuid-${old}`, oldName: old, newName: 'web2', logicalIds } });

describe('rename saga', () => {
  it.each<[DiskTemplate, string]>([
    ['file', ''],
    ['sharedfile', '/srv/shared/'],
  ])('renames each %s disk named after the instance; undone, renames it back', (template, prefix) => {
    const d0 = disk(0, `${prefix}web1/disk0`);
    const d1 = disk(1, `${prefix}web1/disk1`);
    const event = renamed('web1', [`${prefix}web2/disk0`, `${prefix}web2/disk1`]);
    const plan = planSaga(clusterWith(instanceAdded('web1', template, [d0, d1])), [event]);
    expect(plan.steps).toEqual([
      { effect: { kind: 'disk', action: 'rename', target: target('web1', template, d0), newInstanceName: 'web2', newLogicalId: `${prefix}web2/disk0` }, undo: expect.any(Function), part: 0 },
      { effect: { kind: 'disk', action: 'rename', target: target('web1', template, d1), newInstanceName: 'web2', newLogicalId: `${prefix}web2/disk1` }, undo: expect.any(Function), part: 0 },
    ]);
    // The undo finds the disk under its new name and gives it the old one back.
    expect(plan.steps[1]!.undo!({ logicalId: `${prefix}web2/disk1` })).toEqual({
      kind: 'disk',
      action: 'rename',
      target: { ...target('web1', template, { ...d1, logicalId: `${prefix}web2/disk1` }), instance: { name: 'web2', uuid: 'uuid-web1', tags: ['web'] } },
      newInstanceName: 'web1',
      newLogicalId: `${prefix}web1/disk1`,
    });
    expect(plan.finish([{ logicalId: `${prefix}web2/disk0` }, { logicalId: `${prefix}web2/disk1` }])).toEqual([event]);
  });

  it('always asks an ext driver, which alone knows whether the name matters; records the ids it answers; undone, renames back', () => {
    const d0 = disk(0, 'vol-web1-0', { pool: 'nas1' });
    const event = renamed('web1', ['vol-web1-0']);
    const plan = planSaga(clusterWith(instanceAdded('web1', 'ext', [d0])), [event]);
    expect(plan.steps).toEqual([
      { effect: { kind: 'disk', action: 'rename', target: target('web1', 'ext', d0), newInstanceName: 'web2', newLogicalId: 'vol-web1-0' }, undo: expect.any(Function), part: 0 },
    ]);
    expect(plan.steps[0]!.undo!({ logicalId: 'vol-web2-0' })).toEqual({
      kind: 'disk',
      action: 'rename',
      target: { ...target('web1', 'ext', { ...d0, logicalId: 'vol-web2-0' }), instance: { name: 'web2', uuid: 'uuid-web1', tags: ['web'] } },
      newInstanceName: 'web1',
      newLogicalId: 'vol-web1-0',
    });
    expect(plan.finish([{ logicalId: 'vol-web2-0' }])).toEqual([renamed('web1', ['vol-web2-0'])]);
    // A driver that answers no id leaves the decided one.
    expect(plan.finish([{}])).toEqual([event]);
  });

  it('leaves adopted devices alone: they keep their path', () => {
    const d0 = disk(0, '/dev/disk/by-id/lun-1', { adopted: true });
    const event = renamed('web1', ['/dev/disk/by-id/lun-1']);
    const plan = planSaga(clusterWith(instanceAdded('web1', 'blockdev', [d0])), [event]);
    expect(plan.steps).toEqual([]);
    expect(plan.finish([])).toEqual([event]);
  });

  it('has no step for a diskless instance', () => {
    const event = renamed('web1', []);
    expect(planSaga(clusterWith(instanceAdded('web1', 'diskless', [])), [event]).steps).toEqual([]);
  });
});
