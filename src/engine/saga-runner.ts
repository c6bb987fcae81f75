import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';
import type { Failure } from '../domain/events.js';
import { StorageTimeoutError, type StorageContext } from '../domain/ports/disk-storage.js';
import { FencedError } from '../domain/ports/event-store.js';
import { NodeCallError } from '../domain/ports/node-reach.js';
import type { SagaStepRecord, SagaView } from '../projections/job-view.js';
import { killDuring, killHereIf, type KillPoint } from './fault-injection.js';
import { failures } from '../domain/failures.js';
import { describeEffect, effectSummary, runEffect, type Effect, type EffectOutcome, type EffectPorts } from './sagas/effect.js';
import type { SagaPlan } from './sagas/index.js';

/** What the runner needs from its opcode: where to record intents and outcomes, and how to reach the world. */
export interface SagaRunnerDeps {
  ports: EffectPorts;
  newId(): string;
  killAt?: KillPoint;
  /** Records the intent and, in the same write, its line in the job log (`record.what`). */
  recordIntent(record: Omit<SagaStepRecord, 'outcome' | 'failure' | 'ignored'>): Promise<void>;
  recordSuccess(step: number, undo: boolean, outcome: EffectOutcome): Promise<void>;
  recordFailure(step: number, undo: boolean, failure: Failure, ignored: boolean): Promise<void>;
  log(message: string, level?: 'info' | 'warning' | 'error'): Promise<void>;
  storage(callId: string): StorageContext;
  /** A call's outcome is recorded: what it took meanwhile (a logical id) is now in the log. */
  settled?(callId: string): void;
}

export interface SagaResult {
  /** Per step, what it answered; undefined for a step that failed and was ignored, or never ran. */
  outcomes: (EffectOutcome | undefined)[];
}
/** An undo its node could not be asked to do (it did not answer): owed by that node. */
export interface UndoOwed {
  step: number;
  node: string;
  what: string;
  effect: Effect;
}

export interface SagaFailure extends SagaResult {
  failure: Failure;
  /** Undos that wait for their node to answer again (`node repair`). */
  owed: UndoOwed[];
}

/** `unreachable`: the call failed because its node did not answer (or is marked offline). */
type Attempt = { outcome: EffectOutcome } | { failure: Failure; unreachable?: boolean };

const nodeOf = (effect: Effect): string => (effect.kind === 'disk' ? effect.target.nodeName : effect.nodeName);

/**
 * Runs a saga's steps in order, each between an intent and an outcome recorded in the
 * job's stream, so that a successor engine can tell what was done. Given what an
 * earlier engine recorded (`resume`), a step with an outcome is not run again and a
 * step with only an intent is asked for again under the same call id. A step that
 * fails has every done step undone, newest first (each undo recorded the same way),
 * and the failure is returned.
 */
export const runSaga = async (deps: SagaRunnerDeps, plan: SagaPlan, resume?: SagaView, giveUp?: Failure): Promise<Either<SagaFailure, SagaResult>> => {
  const outcomes: (EffectOutcome | undefined)[] = plan.steps.map(() => undefined);
  const done: number[] = [];
  const recorded = (step: number, undo: boolean) => resume?.steps.find((s) => s.step === step && s.undo === undo);
  const effectOf = (i: number): Effect => {
    const { effect, part } = plan.steps[i]!;
    if (typeof effect !== 'function') return effect;
    const before = plan.steps.slice(0, i).map((s, j) => ({ effect: s.effect, outcome: outcomes[j] }));
    return effect(outcomes.filter((_, j) => j < i && plan.steps[j]!.part === part), before);
  };
  for (const [i, step] of plan.steps.entries()) {
    const n = i + 1;
    const prior = recorded(n, false);
    if (prior?.outcome) {
      outcomes[i] = prior.outcome;
      done.push(i);
      continue;
    }
    if (prior?.failure && prior.ignored) continue;
    if (giveUp) {
      // An engine lost too often gives up: nothing new is tried, but the call a lost
      // engine had under way is asked for its answer (by its call id), so that what it
      // made is known and undone with the rest.
      // An oob command is not repeated to learn its answer (a power-cycle would cycle twice): its intent stays in the log.
      const effect = effectOf(i);
      const underWay = prior && !prior.failure && effect.kind !== 'oob' ? await attempt(deps, effect, n, false, prior) : undefined;
      if (underWay && 'outcome' in underWay) {
        outcomes[i] = underWay.outcome;
        done.push(i);
      }
      const { undone, owed } = await undo(deps, plan, done, outcomes, resume);
      return E.left({ failure: giveUp, owed, outcomes: outcomes.map((o, j) => (undone.has(j) ? undefined : o)) });
    }
    const result: Attempt = prior?.failure ? { failure: prior.failure } : await attempt(deps, effectOf(i), n, false, prior, step.mayFail ?? false);
    if ('outcome' in result) {
      outcomes[i] = result.outcome;
      done.push(i);
      killHereIf(deps.killAt, { step: n });
      continue;
    }
    if (step.mayFail) {
      await deps.log(`${result.failure.message}; going on without it (${step.goOnBecause ?? '--ignore-consistency'})`, 'warning');
      continue;
    }
    const { undone, owed } = await undo(deps, plan, done, outcomes, resume);
    return E.left({ failure: result.failure, owed, outcomes: outcomes.map((o, j) => (undone.has(j) ? undefined : o)) });
  }
  return E.right({ outcomes });
};

/**
 * A long call's progress, as lines in the job log: written in order, one after another
 * (never two writes at once), and all of them before the call's outcome.
 */
const progressLines = (deps: SagaRunnerDeps) => {
  let queue: Promise<void> = Promise.resolve();
  return {
    line: (text: string) => {
      queue = queue.then(() => deps.log(text));
    },
    written: () => queue,
  };
};

/** Records the intent (unless an earlier engine did), runs the call, records its outcome. */
const attempt = async (deps: SagaRunnerDeps, effect: Effect, step: number, isUndo: boolean, prior?: SagaStepRecord, mayFail = false): Promise<Attempt> => {
  const what = describeEffect(effect);
  const callId = prior?.callId ?? deps.newId();
  if (prior) await deps.log(`${what} (again: the engine that began it was lost)`);
  else await deps.recordIntent({ step, undo: isUndo, callId, what, effect: effectSummary(effect) });
  const progress = progressLines(deps);
  const running = runEffect(deps.ports, effect, deps.storage(callId), progress.line);
  if (!isUndo) await killDuring(deps.killAt, step, running);
  try {
    const outcome = await running;
    await progress.written();
    await deps.recordSuccess(step, isUndo, outcome);
    return { outcome };
  } catch (error) {
    await progress.written().catch(() => undefined);
    // Fenced: another engine leads now and owns this saga; nothing more is recorded or undone here.
    if (error instanceof FencedError) throw error;
    const kind = error instanceof StorageTimeoutError ? 'timeout' : 'application';
    const message = `${what} failed: ${error instanceof Error ? error.message : String(error)}`;
    const failed =
      // An oob program's failure is the node's: its power could not be had.
      error instanceof NodeCallError || effect.kind === 'oob' ? failures.nodeError(message) : effect.kind === 'hypervisor' ? failures.hypervisorError(message, kind) : failures.storageError(message, kind);
    await deps.recordFailure(step, isUndo, failed, mayFail);
    return { failure: failed, unreachable: error instanceof NodeCallError && error.kind === 'unreachable' };
  } finally {
    deps.settled?.(callId);
  }
};

/**
 * Takes back the done steps, newest first. What cannot be undone is said in the job
 * log with what an operator needs to clean it up by hand.
 */
const undo = async (deps: SagaRunnerDeps, plan: SagaPlan, done: number[], outcomes: (EffectOutcome | undefined)[], resume?: SagaView): Promise<{ undone: Set<number>; owed: UndoOwed[] }> => {
  const undone = new Set<number>();
  const owed: UndoOwed[] = [];
  for (const i of [...done].reverse()) {
    const step = plan.steps[i]!;
    if (!step.undo) continue;
    undone.add(i);
    const n = i + 1;
    const prior = resume?.steps.find((s) => s.step === n && s.undo);
    if (prior?.outcome) continue;
    const effect = step.undo(outcomes[i] ?? {});
    await deps.log(`undoing: ${describeEffect(effect)}`, 'warning');
    const result = await attempt(deps, effect, n, true, prior);
    if (!('failure' in result)) continue;
    if (result.unreachable) {
      // Not lost: the node owes it, and does it when it answers again (or the operator gives up on it).
      const node = nodeOf(effect);
      owed.push({ step: n, node, what: describeEffect(effect), effect });
      await deps.log(`could not undo (${describeEffect(effect)}): node ${node} does not answer; it owes this undo: 'opl node repair ${node}' does it once the node answers, 'opl node repair ${node} --give-up' drops it`, 'error');
    } else await deps.log(`could not undo (${describeEffect(effect)}): ${result.failure.message}; clean it up by hand`, 'error');
  }
  return { undone, owed };
};
