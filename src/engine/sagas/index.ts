import type { ClusterState } from '../../domain/cluster-state.js';
import type { ClusterEvent, ClusterEventType, EventOf } from '../../domain/events.js';
import { createSaga } from './create.js';
import { activateSaga, deactivateSaga } from './disks.js';
import type { EffectOutcome } from './effect.js';
import { growSaga } from './grow.js';
import { cleanupSaga, moveSaga } from './move.js';
import { nodePowerSaga } from './node-power.js';
import { startSaga, stopSaga } from './power.js';
import { removeSaga } from './remove.js';
import { settleOwedSaga } from './repair.js';
import { renameSaga } from './rename.js';
import type { SagaBuilder, SagaContext, SagaPart, Step } from './saga.js';
import type { InstanceLike } from './targets.js';

/**
 * Which cluster events stand for side effects, and the saga of each. Every event type
 * is listed: a new one must say here whether it touches the world, or the build fails.
 */
const sagas: { [T in ClusterEventType]: SagaBuilder<T> | 'configuration only' } = {
  ClusterInitialized: 'configuration only',
  ClusterModified: 'configuration only',
  ClusterDestroyed: 'configuration only',
  PoolAdded: 'configuration only',
  PoolRemoved: 'configuration only',
  PoolModified: 'configuration only',
  PoolConnected: 'configuration only',
  PoolDisconnected: 'configuration only',
  GroupAdded: 'configuration only',
  GroupRenamed: 'configuration only',
  GroupRemoved: 'configuration only',
  NodeAdded: 'configuration only',
  NodeModified: 'configuration only',
  NodeRemoved: 'configuration only',
  NodePowered: nodePowerSaga,
  InstanceModified: 'configuration only',
  SagaBegun: 'configuration only',
  SagaCompleted: 'configuration only',
  SagaUndone: 'configuration only',
  OwedUndosSettled: settleOwedSaga,
  InstanceAdded: createSaga,
  InstanceStarted: startSaga,
  InstanceStopped: stopSaga,
  DiskGrown: growSaga,
  InstanceRenamed: renameSaga,
  InstanceMoved: moveSaga,
  InstanceCleanedUp: cleanupSaga,
  DisksActivated: activateSaga,
  DisksDeactivated: deactivateSaga,
  InstanceRemoved: removeSaga,
};

/** Whether recording these events needs a saga (any of them touches the world). */
export const needsSaga = (events: readonly ClusterEvent[]): boolean => events.some((e) => sagas[e.type] !== 'configuration only');

/** A saga's steps in order, each knowing which decided event it serves. */
export interface SagaPlan {
  steps: (Step & { part: number })[];
  parts: SagaPart[];
  /** The decided events as recorded once every step ran, in decided order. */
  finish(outcomes: readonly (EffectOutcome | undefined)[]): ClusterEvent[];
  /** After a failure: the events of the parts that keep what they did, every step of theirs done. */
  keptOnFailure(outcomes: readonly (EffectOutcome | undefined)[]): ClusterEvent[];
}

export const planSaga = (state: ClusterState, events: readonly ClusterEvent[]): SagaPlan => {
  const created = new Map<string, InstanceLike>();
  const ctx: SagaContext = {
    state,
    instance: (uuid) => state.instances.get(uuid) ?? created.get(uuid),
    remember: (instance) => created.set(instance.uuid, instance),
  };
  const parts = events.map((event) => {
    const build = sagas[event.type] as SagaBuilder<typeof event.type> | 'configuration only';
    return build === 'configuration only' ? { steps: [], finish: () => event } : build(event as EventOf<typeof event.type>, ctx);
  });
  const steps = parts.flatMap((part, index) => part.steps.map((step) => ({ ...step, part: index })));
  const ofPart = (outcomes: readonly (EffectOutcome | undefined)[], part: number) => outcomes.filter((_, i) => steps[i]!.part === part);
  return {
    steps,
    parts,
    finish: (outcomes) => parts.map((part, index) => part.finish(ofPart(outcomes, index))),
    keptOnFailure: (outcomes) =>
      parts.flatMap((part, index) => {
        const own = ofPart(outcomes, index);
        return part.keepsOnFailure && own.every((o) => o !== undefined) ? [part.finish(own)] : [];
      }),
  };
};

/** What a part kept on failure means for the operator, for the job log. */
export const describeKept = (state: ClusterState, event: ClusterEvent): string => {
  if (event.type === 'NodePowered') {
    const node = state.nodes.get(event.data.nodeUuid)?.name ?? event.data.nodeUuid;
    return event.data.command === 'power-off' ? `node ${node} was powered off and stays so, offline` : `node ${node} was powered on (${event.data.command})`;
  }
  if (event.type === 'InstanceStopped') return `instance ${state.instances.get(event.data.instanceUuid)?.name ?? event.data.instanceUuid} was stopped and stays so`;
  return `${event.type} is recorded`;
};
