import type { SagaBuilder } from './saga.js';
import { recordedAsDecided } from './saga.js';
import { diskTarget } from './targets.js';

/** Growing a disk; the recorded size is what the storage says it has now. Disks never shrink, so there is no undo. */
export const growSaga: SagaBuilder<'DiskGrown'> = (event, ctx) => {
  const instance = ctx.instance(event.data.instanceUuid);
  const disk = instance?.disks[event.data.index];
  const target = instance && disk && diskTarget(ctx.state, instance, disk);
  if (!target) return recordedAsDecided(event);
  return {
    steps: [{ effect: { kind: 'disk', action: 'grow', target, sizeMib: event.data.sizeMib } }],
    finish: ([outcome]) => ({ type: 'DiskGrown', data: { ...event.data, sizeMib: outcome?.sizeMib ?? event.data.sizeMib } }),
  };
};
