import type { Effect } from './effect.js';
import type { SagaBuilder, Step } from './saga.js';
import { diskTarget } from './targets.js';

/**
 * Renaming an instance renames the disks named after it; `ext` disks always go to
 * their driver, which alone knows whether the name matters. Undone, each renamed
 * disk gets its old name back.
 */
export const renameSaga: SagaBuilder<'InstanceRenamed'> = (event, ctx) => {
  const instance = ctx.instance(event.data.instanceUuid);
  if (!instance) return { steps: [], finish: () => event };
  const renamed: number[] = [];
  const steps: Step[] = [];
  instance.disks.forEach((disk, i) => {
    const target = diskTarget(ctx.state, instance, disk);
    const newLogicalId = event.data.logicalIds[i];
    const moves = newLogicalId !== undefined && (newLogicalId !== disk.logicalId || instance.diskTemplate === 'ext');
    if (!target || !moves || disk.adopted) return;
    renamed.push(i);
    steps.push({
      effect: { kind: 'disk', action: 'rename', target, newInstanceName: event.data.newName, newLogicalId },
      undo: (outcome): Effect => ({
        kind: 'disk',
        action: 'rename',
        target: { ...target, instance: { ...target.instance, name: event.data.newName }, disk: { ...disk, logicalId: outcome.logicalId ?? newLogicalId } },
        newInstanceName: event.data.oldName,
        newLogicalId: disk.logicalId,
      }),
    });
  });
  return {
    steps,
    finish: (outcomes) => ({
      type: 'InstanceRenamed',
      data: { ...event.data, logicalIds: event.data.logicalIds.map((id, i) => outcomes[renamed.indexOf(i)]?.logicalId ?? id) },
    }),
  };
};
