import type { Effect } from './effect.js';
import type { EarlierStep, SagaBuilder, Step } from './saga.js';
import { recordedAsDecided } from './saga.js';
import { diskTarget, hvInstance, nodeName, withDisks } from './targets.js';

/** Starting an instance on its node; undone, it is stopped there again. */
export const startSaga: SagaBuilder<'InstanceStarted'> = (event, ctx) => {
  const instance = ctx.instance(event.data.instanceUuid);
  const node = nodeName(ctx.state, event.data.nodeUuid);
  if (!instance || !node) return recordedAsDecided(event);
  const hv = hvInstance(instance);
  const start = { kind: 'hypervisor', action: 'start', nodeName: node, instance: hv } as const;
  if (hv.hypervisor !== 'kvm') return { steps: [{ effect: start, undo: () => ({ ...start, action: 'stop' }) }], finish: () => event };
  // A kvm guest opens its disks itself: each is attached on the node first (attaching is
  // idempotent, and left as it is if the start fails), and QEMU is given what attach answered.
  const attach: Step[] = instance.disks.flatMap((disk) => {
    const target = diskTarget(ctx.state, instance, disk, event.data.nodeUuid);
    if (!target) return [];
    // Made by this same job (instance add): the disk is named by what its create answered (an ext driver's logical id).
    const effect = (_: unknown, before: readonly EarlierStep[]): Effect => {
      const made = before.find(({ effect: e }) => typeof e !== 'function' && e.kind === 'disk' && e.action === 'create' && e.target.instance.uuid === instance.uuid && e.target.disk.index === disk.index);
      const logicalId = made?.outcome?.logicalId;
      return { kind: 'disk', action: 'attach', target: logicalId ? { ...target, disk: { ...target.disk, logicalId } } : target };
    };
    return [{ effect }];
  });
  const startWithDisks: Step = { effect: (earlier) => ({ ...start, instance: withDisks(hv, earlier) }), undo: () => ({ ...start, action: 'stop' }) };
  return { steps: [...attach, startWithDisks], finish: () => event };
};

/** Stopping an instance. Not restarted if what follows fails: a removal that fails leaves it stopped, and says so. */
export const stopSaga: SagaBuilder<'InstanceStopped'> = (event, ctx) => {
  const instance = ctx.instance(event.data.instanceUuid);
  const node = nodeName(ctx.state, event.data.nodeUuid);
  if (!instance || !node) return recordedAsDecided(event);
  return {
    steps: [{ effect: { kind: 'hypervisor', action: 'stop', nodeName: node, instance: hvInstance(instance), ...(event.data.timeoutSeconds !== undefined && { timeoutSeconds: event.data.timeoutSeconds }) } }],
    finish: () => event,
    keepsOnFailure: true,
  };
};
