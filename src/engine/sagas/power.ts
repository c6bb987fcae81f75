import type { SagaBuilder } from './saga.js';
import { recordedAsDecided } from './saga.js';
import { hvInstance, nodeName } from './targets.js';

/** Starting an instance on its node; undone, it is stopped there again. */
export const startSaga: SagaBuilder<'InstanceStarted'> = (event, ctx) => {
  const instance = ctx.instance(event.data.instanceUuid);
  const node = nodeName(ctx.state, event.data.nodeUuid);
  if (!instance || !node) return recordedAsDecided(event);
  const start = { kind: 'hypervisor', action: 'start', nodeName: node, instance: hvInstance(instance) } as const;
  return { steps: [{ effect: start, undo: () => ({ ...start, action: 'stop' }) }], finish: () => event };
};

/** Stopping an instance. Not restarted if what follows fails: a removal that fails leaves it stopped, and says so. */
export const stopSaga: SagaBuilder<'InstanceStopped'> = (event, ctx) => {
  const instance = ctx.instance(event.data.instanceUuid);
  const node = nodeName(ctx.state, event.data.nodeUuid);
  if (!instance || !node) return recordedAsDecided(event);
  return {
    steps: [{ effect: { kind: 'hypervisor', action: 'stop', nodeName: node, instance: hvInstance(instance) } }],
    finish: () => event,
    keepsOnFailure: true,
  };
};
