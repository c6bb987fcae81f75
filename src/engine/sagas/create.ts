import type { EventOf } from '../../domain/events.js';
import type { Effect } from './effect.js';
import type { SagaBuilder, Step } from './saga.js';
import { diskTarget, type InstanceLike } from './targets.js';

/**
 * Creating an instance: each disk is made (or, for `blockdev`, its device checked and
 * adopted); undone, each made disk is removed again — an adopted device is only let go.
 * The recorded `InstanceAdded` carries what the storage named and sized.
 */
export const createSaga: SagaBuilder<'InstanceAdded'> = (event, ctx) => {
  const d = event.data;
  const instance: InstanceLike = { name: d.instanceName, uuid: d.instanceUuid, tags: d.tags, memoryMib: d.memoryMib, vcpus: d.vcpus, hypervisor: d.hypervisor, ...(d.hypervisorParams && { hypervisorParams: d.hypervisorParams }), diskTemplate: d.diskTemplate, primaryNodeUuid: d.primaryNodeUuid, disks: d.disks };
  ctx.remember(instance);
  const made: number[] = [];
  const steps: Step[] = [];
  for (const disk of d.disks) {
    const target = diskTarget(ctx.state, instance, disk);
    if (!target) continue;
    made.push(disk.index);
    steps.push({
      effect: { kind: 'disk', action: 'create', target },
      ...(!disk.adopted && {
        undo: (outcome): Effect => ({ kind: 'disk', action: 'remove', target: { ...target, disk: { ...disk, logicalId: outcome.logicalId ?? disk.logicalId } } }),
      }),
    });
  }
  return {
    steps,
    finish: (outcomes): EventOf<'InstanceAdded'> => ({
      type: 'InstanceAdded',
      data: {
        ...d,
        disks: d.disks.map((disk) => {
          const outcome = outcomes[made.indexOf(disk.index)];
          return { ...disk, logicalId: outcome?.logicalId ?? disk.logicalId, sizeMib: outcome?.sizeMib ?? disk.sizeMib };
        }),
      },
    }),
  };
};
