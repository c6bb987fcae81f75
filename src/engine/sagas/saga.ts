import type { ClusterState } from '../../domain/cluster-state.js';
import type { ClusterEvent, ClusterEventType, EventOf } from '../../domain/events.js';
import type { Effect, EffectOutcome } from './effect.js';
import type { InstanceLike } from './targets.js';

/** One durable step: a call, and the call that takes it back given what the first answered. */
export interface Step {
  /**
   * The call; or, when it needs what an earlier step answered (where a migration's
   * destination listens), made from those answers just before it runs: its own part's, in
   * order, and — for what an earlier part of the same job made (a disk's name) — every
   * earlier step with its answer.
   */
  effect: Effect | ((earlier: readonly (EffectOutcome | undefined)[], before: readonly EarlierStep[]) => Effect);
  undo?: (outcome: EffectOutcome) => Effect;
  /** A step on a source node that may be dead: its failure is logged and the saga goes on. */
  mayFail?: boolean;
  /** Why going on is right when it fails, for the log (default: the operator said so, --ignore-consistency). */
  goOnBecause?: string;
}

/** A step that ran before, in any part, with what it answered (undefined: not run, or undone). */
export interface EarlierStep {
  effect: Step['effect'];
  outcome: EffectOutcome | undefined;
}

/** The steps one decided event stands for, and the event as it is recorded once they ran. */
export interface SagaPart {
  steps: Step[];
  /** The event to record at the end, filled in with what its steps answered (undefined: an ignored step). */
  finish(outcomes: readonly (EffectOutcome | undefined)[]): ClusterEvent;
  /** Recorded even when a later part fails and the saga is undone: what it did cannot be, and need not be, taken back (a stop before a removal). */
  keepsOnFailure?: boolean;
}

export interface SagaContext {
  state: ClusterState;
  /** An instance of the configuration, or one an earlier event of the same saga creates. */
  instance(uuid: string): InstanceLike | undefined;
  /** Makes an instance created by this saga known to the events after it. */
  remember(instance: InstanceLike): void;
}

export type SagaBuilder<T extends ClusterEventType> = (event: EventOf<T>, ctx: SagaContext) => SagaPart;

/** An event with no side effect: recorded as decided, and the saga for it has no steps. */
export const recordedAsDecided = (event: ClusterEvent): SagaPart => ({ steps: [], finish: () => event });
