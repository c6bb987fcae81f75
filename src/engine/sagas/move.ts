import type { HypervisorInstance } from '../../domain/ports/hypervisor.js';
import type { Effect, EffectOutcome } from './effect.js';
import type { SagaBuilder, Step } from './saga.js';
import { diskTarget, hvInstance, nodeName, withDisks } from './targets.js';

interface LiveMove {
  hv: HypervisorInstance;
  from: string;
  to: string;
  /** Where the target's QEMU listens: the address its daemon was added with. */
  address: string;
  onTarget(earlier: readonly (EffectOutcome | undefined)[]): HypervisorInstance;
  source: { mayFail?: boolean };
}

/**
 * A kvm guest's live migration, each part a recorded step: the target waits for the
 * guest (undone: that QEMU is ended), the source sends it (undone: the source runs
 * again), the target is seen running — the point of no return — and only then is the
 * source's QEMU, paused since the stream ended, let go of. Until then the guest keeps
 * running on the source whatever fails. An undo never makes a second copy nor ends the
 * only one: a completed migration's source runs again only if the target does not run
 * the guest, and a target that runs it is not ended.
 */
const liveSteps = ({ hv, from, to, address, onTarget, source }: LiveMove): Step[] => {
  const accept = (earlier: readonly (EffectOutcome | undefined)[]): Effect => ({ kind: 'hypervisor', action: 'accept', nodeName: to, instance: onTarget(earlier), address });
  return [
    { effect: accept, undo: () => ({ kind: 'hypervisor', action: 'withdraw', nodeName: to, instance: hv }) },
    {
      effect: (earlier) => ({ kind: 'hypervisor', action: 'send', nodeName: from, instance: hv, uri: earlier.at(-1)?.uri ?? '', toNodeName: to }),
      undo: () => ({ kind: 'hypervisor', action: 'resume', nodeName: from, instance: hv, destination: to }),
    },
    { effect: { kind: 'hypervisor', action: 'confirm', nodeName: to, instance: hv } },
    { effect: { kind: 'hypervisor', action: 'cleanup', nodeName: from, instance: hv }, ...source },
  ];
};

/**
 * Moving an instance (live or non-live migration, failover): reach its disks from the
 * target, move the running instance, let go of the disks on the source. Undone, the
 * target side is taken back and the instance stays (or runs again) on its source. A
 * dead source is not waited on: with --ignore-consistency its steps may fail.
 */
export const moveSaga: SagaBuilder<'InstanceMoved'> = (event, ctx) => {
  const d = event.data;
  const instance = ctx.instance(d.instanceUuid);
  const from = nodeName(ctx.state, d.fromNodeUuid);
  const to = nodeName(ctx.state, d.toNodeUuid);
  if (!instance || !from || !to) return { steps: [], finish: () => event };
  const hv = hvInstance(instance);
  const source = d.ignoreSourceFailures ? { mayFail: true } : {};
  const steps: Step[] = [];
  for (const disk of instance.disks) {
    const target = diskTarget(ctx.state, instance, disk, d.toNodeUuid);
    if (target) steps.push({ effect: { kind: 'disk', action: 'attach', target }, undo: (): Effect => ({ kind: 'disk', action: 'detach', target }) });
  }
  const attached = steps.length;
  const onTarget = (earlier: readonly (EffectOutcome | undefined)[]) => withDisks(hv, earlier.slice(0, attached));
  const startOnTarget: Step = {
    // Only a kvm guest is given its disks (as the target's attach answered them).
    effect: hv.hypervisor === 'kvm' ? (earlier) => ({ kind: 'hypervisor', action: 'start', nodeName: to, instance: onTarget(earlier) }) : { kind: 'hypervisor', action: 'start', nodeName: to, instance: hv },
    undo: () => ({ kind: 'hypervisor', action: 'stop', nodeName: to, instance: hv }),
  };
  const address = ctx.state.nodes.get(d.toNodeUuid)?.address?.host;
  // Found on the target by migrate --cleanup: it runs there already, so it is not sent again.
  if (d.running && d.how === 'live-migration' && hv.hypervisor === 'kvm' && !d.sourceOffline && !d.found && address) {
    steps.push(...liveSteps({ hv, from, to, address, onTarget, source }));
  } else if (d.running && d.how === 'live-migration') {
    steps.push(startOnTarget);
    // Recorded by migrate --cleanup when the primary is offline: the source is not called, as in a failover.
    if (!d.sourceOffline) steps.push({ effect: { kind: 'hypervisor', action: 'cleanup', nodeName: from, instance: hv }, ...source });
  } else if (d.running) {
    if (!d.sourceOffline) {
      steps.push({
        effect: { kind: 'hypervisor', action: 'stop', nodeName: from, instance: hv, ...(d.shutdownTimeoutSeconds !== undefined && { timeoutSeconds: d.shutdownTimeoutSeconds }) },
        undo: () => ({ kind: 'hypervisor', action: 'start', nodeName: from, instance: hv }),
        ...source,
      });
    }
    steps.push(startOnTarget);
  }
  if (!d.sourceOffline) {
    for (const disk of instance.disks) {
      const target = diskTarget(ctx.state, instance, disk, d.fromNodeUuid);
      // Past the move's point of no return: the instance runs on the target, so a disk
      // the source cannot let go of is reported, not a reason to stop the instance.
      if (target) steps.push({ effect: { kind: 'disk', action: 'detach', target }, mayFail: true, ...(!d.ignoreSourceFailures && { goOnBecause: `the instance runs on ${to}; 'opl instance migrate ${instance.name} --cleanup' lets go of it later` }) });
    }
  }
  return { steps, finish: () => event };
};

/** After migrate --cleanup: stop the stray copies and let go of stray disks; an offline node's part may fail. */
export const cleanupSaga: SagaBuilder<'InstanceCleanedUp'> = (event, ctx) => {
  const instance = ctx.instance(event.data.instanceUuid);
  if (!instance) return { steps: [], finish: () => event };
  const steps: Step[] = [];
  for (const nodeUuid of event.data.nodeUuids) {
    const node = nodeName(ctx.state, nodeUuid);
    if (!node) continue;
    const offline = ctx.state.nodes.get(nodeUuid)?.offline ?? false;
    const mayFail = offline ? { mayFail: true } : {};
    steps.push({ effect: { kind: 'hypervisor', action: 'cleanup', nodeName: node, instance: hvInstance(instance) }, ...mayFail });
    for (const disk of instance.disks) {
      const target = diskTarget(ctx.state, instance, disk, nodeUuid);
      if (target) steps.push({ effect: { kind: 'disk', action: 'detach', target }, ...mayFail });
    }
  }
  return { steps, finish: () => event };
};
