import type { Effect } from './effect.js';
import type { SagaBuilder, Step } from './saga.js';
import { diskTarget } from './targets.js';

/** activate-disks: attach each disk on the primary; the recorded event says where each appeared. Undone, they are detached. */
export const activateSaga: SagaBuilder<'DisksActivated'> = (event, ctx) => {
  const instance = ctx.instance(event.data.instanceUuid);
  const attached: number[] = [];
  const steps: Step[] = [];
  for (const disk of instance?.disks ?? []) {
    const target = diskTarget(ctx.state, instance!, disk);
    if (!target) continue;
    attached.push(disk.index);
    steps.push({ effect: { kind: 'disk', action: 'attach', target }, undo: (): Effect => ({ kind: 'disk', action: 'detach', target }) });
  }
  return {
    steps,
    finish: (outcomes) => ({
      type: 'DisksActivated',
      data: { ...event.data, devices: event.data.devices.map((device, i) => outcomes[attached.indexOf(i)]?.device ?? device) },
    }),
  };
};

/** deactivate-disks (and the first part of a removal): detach each disk on the primary. */
export const deactivateSaga: SagaBuilder<'DisksDeactivated'> = (event, ctx) => {
  const instance = ctx.instance(event.data.instanceUuid);
  const steps: Step[] = [];
  for (const disk of instance?.disks ?? []) {
    const target = diskTarget(ctx.state, instance!, disk);
    if (target) steps.push({ effect: { kind: 'disk', action: 'detach', target } });
  }
  return { steps, finish: () => event, keepsOnFailure: true };
};
