import type { SagaBuilder, Step } from './saga.js';
import { diskTarget, hvInstance, nodeName } from './targets.js';

/**
 * Removing an instance: its hypervisor forgets it, then its disks are removed —
 * adopted devices belong to the storage team and are only let go of. Nothing here
 * can be undone; a failure leaves the instance recorded, stopped, for another try.
 */
export const removeSaga: SagaBuilder<'InstanceRemoved'> = (event, ctx) => {
  const instance = ctx.instance(event.data.instanceUuid);
  const node = instance && nodeName(ctx.state, instance.primaryNodeUuid);
  if (!instance || !node) return { steps: [], finish: () => event };
  const steps: Step[] = [{ effect: { kind: 'hypervisor', action: 'cleanup', nodeName: node, instance: hvInstance(instance) } }];
  for (const disk of instance.disks) {
    const target = diskTarget(ctx.state, instance, disk);
    if (target && !disk.adopted) steps.push({ effect: { kind: 'disk', action: 'remove', target } });
  }
  return { steps, finish: () => event };
};
