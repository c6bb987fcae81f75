import * as E from 'fp-ts/lib/Either.js';
import { Subject, firstValueFrom, race, timer, type Subscription } from 'rxjs';
import type { Failure } from '../domain/events.js';
import { StoreFailureError } from '../domain/ports/event-store.js';
import { Opcode } from '../domain/opcodes.js';
import { FINISHED_JOB_STATUSES, type JobView, type OpcodeView } from '../projections/job-view.js';
import { killHereIf } from './fault-injection.js';
import { createHandlers, handlerOf } from './handlers/index.js';
import { FencedError, type Fence } from '../domain/ports/event-store.js';
import { createJobLog, type WriteFence } from './job-log.js';
import { failures } from '../domain/failures.js';
import { removeUnrecordedDisks } from './legacy-recovery.js';
import { createLockTable } from './lock-table.js';
import { createOpcodeRunner, type OpcodeRunnerDeps } from './opcode-runner.js';
import { byPriority, nextOpcode, readiness } from './scheduling.js';

/** An opcode whose engine died mid-run is tried this many times in all; then what it did is undone and it fails. */
export const MAX_ATTEMPTS = 3;

export interface EngineDeps extends Omit<OpcodeRunnerDeps, 'jobLog' | 'handlers'> {
  maxConcurrentJobs?: number;
  /** Where the engine reports what it could not write to the log (the log itself failing). */
  onError?: (error: unknown) => void;
  /** Told once per run that a write was refused: another engine took the lease over. */
  onFenced?: (error: FencedError) => void;
  /**
   * The store failed for longer than this process waits (store-patience.ts): the engine
   * takes no more jobs and tells whoever leads through it. Its jobs stay as the log
   * has them; the next engine carries them on.
   */
  onStoreFailure?: (failure: StoreFailureError) => void;
}

/** Pause before a job whose run threw unexpectedly is taken again: doubling to a minute, jittered. */
const crashPause = (times: number) => Math.min(60_000, 250 * 2 ** Math.min(times, 10)) * (0.5 + Math.random() / 2);

export interface Engine {
  /**
   * Begins taking jobs from the queue under the leader lease whose token is `fence`
   * (every write carries it); first waits for an earlier run to have drained.
   */
  start(fence?: Fence): Promise<void>;
  /** Stops taking new jobs and resolves once the running ones have ended. */
  drain(): Promise<void>;
  /** Stops at once: no further write reaches the store, no new step begins; then drains. */
  halt(reason: FencedError): Promise<void>;
  running(): number;
}

/**
 * The job engine: the queue (priorities, dependencies, cancellation), the locks, and
 * the loop that takes each job's opcodes in order — including those a lost engine
 * left running. What one opcode does is its handler's and its saga's business.
 */
export const createEngine = (deps: EngineDeps): Engine => {
  const { projector } = deps;
  const views = projector.views;
  const maxJobs = deps.maxConcurrentJobs ?? 25;
  let fence: Fence | undefined;
  let halted: FencedError | undefined;
  let stopping: Promise<void> | undefined;
  const guard: WriteFence = {
    fence: () => fence,
    halted: () => halted,
    fenced: (error) => {
      if (halted) return;
      halted = error;
      accepting = false;
      deps.onFenced?.(error);
    },
  };
  const jobLog = createJobLog(deps.store, deps, guard);
  const handlers = createHandlers(() => deps.hypervisor);
  const opcodes = createOpcodeRunner({ ...deps, jobLog, handlers });
  const locks = createLockTable();
  const locksReleased = new Subject<void>();
  const running = new Map<number, Promise<void>>();
  /** Jobs whose last run threw (not a refusal: a bug or a store failure), with how often in a row. */
  const crashed = new Map<number, { times: number; resting: boolean }>();
  let accepting = false;
  let tickQueued = false;
  let subscription: Subscription | undefined;

  const tick = (): void => {
    tickQueued = false;
    if (!accepting) return;
    const waiting = [...views.openJobs].map((id) => views.jobs.get(id)!).filter((job) => !running.has(job.id) && !crashed.get(job.id)?.resting).sort(byPriority);
    for (const job of waiting) {
      if (running.size >= maxJobs) break;
      // A cancel request wins over whatever the dependencies would say.
      const ready = job.cancelRequested ? ({ kind: 'ready' } as const) : readiness(job, views.jobs);
      if (ready.kind === 'blocked') continue;
      const task = runJob(job, ready.kind === 'doomed' ? ready.reason : undefined)
        .then(() => void crashed.delete(job.id))
        // A fenced engine's jobs end here, reported once through onFenced.
        .catch((error: unknown) => {
          if (!(error instanceof FencedError)) jobCrashed(job.id, error);
        })
        .finally(() => {
          running.delete(job.id);
          requestTick();
        });
      running.set(job.id, task);
    }
  };
  /**
   * A job's run threw. Taking it again at once is how a full disk became a hot loop:
   * a store failure this process no longer waits out stops the engine; anything else
   * is reported once and the job rests, longer each time, before it is taken again.
   */
  const storeGaveUp = (failure: StoreFailureError): void => {
    accepting = false;
    deps.onStoreFailure?.(failure);
  };
  const jobCrashed = (jobId: number, error: unknown): void => {
    if (error instanceof StoreFailureError) return storeGaveUp(error);
    const times = (crashed.get(jobId)?.times ?? 0) + 1;
    if (times === 1) deps.onError?.(error);
    crashed.set(jobId, { times, resting: true });
    setTimeout(() => {
      crashed.set(jobId, { times, resting: false });
      requestTick();
    }, crashPause(times)).unref();
  };
  const requestTick = (): void => {
    if (tickQueued || !accepting) return;
    tickQueued = true;
    setImmediate(tick);
  };

  /** What to do with an opcode a lost engine left running: done, failed, resumed, or run again. */
  const recover = async (job: JobView, index: number, op: OpcodeView): Promise<'finished' | 'run' | { giveUp?: Failure }> => {
    if (op.saga?.ended === 'completed' || (!op.saga && op.effectRecorded)) {
      await jobLog.log(job, index, "the previous engine recorded this opcode's effect before it was lost; marking it done");
      await jobLog.finish(job, index, 'success', { recovered: true });
      return 'finished';
    }
    if (op.saga?.ended === 'undone') {
      const cause = op.saga.steps.find((s) => s.failure && !s.ignored && !s.undo)?.failure;
      await jobLog.finish(job, index, cause ?? failures.engineLost('the saga was undone by an engine that was then lost'));
      return 'finished';
    }
    const lost = failures.engineLost(`the engine running this opcode was lost ${op.attempts} times; giving up`);
    if (op.attempts >= MAX_ATTEMPTS && !op.saga) {
      await jobLog.finish(job, index, lost);
      return 'finished';
    }
    if (op.attempts >= MAX_ATTEMPTS) return { giveUp: lost };
    await jobLog.log(job, index, `the engine running this opcode was lost; retrying (attempt ${op.attempts + 1} of ${MAX_ATTEMPTS})`, 'warning');
    if (op.saga) return {};
    await removeUnrecordedDisks({ ...deps, jobLog }, job, index);
    return 'run';
  };

  const runJob = async (job: JobView, doomedBecause: string | undefined): Promise<void> => {
    if (doomedBecause !== undefined) {
      await jobLog.finish(job, nextOpcode(job) ?? 0, failures.dependencyFailed(doomedBecause));
      return;
    }
    for (;;) {
      await projector.reach(jobLog.lastWrite());
      if (FINISHED_JOB_STATUSES.has(job.status)) return;
      const index = nextOpcode(job);
      if (index === undefined) {
        await jobLog.record(job, undefined, { type: 'JobFinished', data: { jobId: job.id, status: 'success' } });
        return;
      }
      const op = job.opcodes[index]!;
      // Started but not ended: the engine running it was lost (this one ends what it starts).
      const lost = op.attempts > 0;
      const inFlight = op.saga !== undefined && op.saga.ended === undefined;
      // A saga under way is finished or undone first: a cancel cannot leave half a move.
      if (job.cancelRequested && !inFlight) {
        await jobLog.finish(job, index, failures.canceled(`canceled by request before opcode ${index} ran`));
        return;
      }
      const recovery = lost ? await recover(job, index, op) : 'run';
      if (recovery === 'finished') continue;
      const opcode = Opcode.safeParse(op.input);
      if (!opcode.success) {
        const problem = opcode.error.issues[0];
        await jobLog.finish(job, index, failures.malformedOpcode(`the log holds a malformed ${op.type}: ${problem?.path.join('.') ?? ''} ${problem?.message ?? ''}`.trim()));
        return;
      }
      if (!(await acquireLocks(job, index, opcode.data))) continue;
      try {
        await jobLog.record(job, index, { type: 'OpcodeStarted', data: { jobId: job.id, opIndex: index, attempt: op.attempts + 1 } });
        killHereIf(deps.killAt, { step: 0 });
        const outcome = recovery === 'run' ? await opcodes.run(job, index, opcode.data) : await opcodes.resume(job, index, recovery.giveUp);
        if (E.isLeft(outcome)) {
          await jobLog.finish(job, index, outcome.left);
          return;
        }
        await jobLog.finish(job, index, 'success', outcome.right);
      } finally {
        locks.release(`job-${job.id}`);
        locksReleased.next();
      }
    }
  };

  /** Takes the opcode's locks, recording once that the job waits; false if it was canceled meanwhile. */
  const acquireLocks = async (job: JobView, index: number, opcode: Opcode): Promise<boolean> => {
    let recordedWaiting = false;
    for (;;) {
      const attempt = locks.tryAcquire(`job-${job.id}`, handlerOf(handlers, opcode).locks(views.cluster, opcode));
      if (attempt.granted) return true;
      if (!recordedWaiting) {
        await jobLog.record(job, index, { type: 'OpcodeWaiting', data: { jobId: job.id, opIndex: index, blockedBy: attempt.blockedBy } });
        recordedWaiting = true;
      }
      await firstValueFrom(race(locksReleased, timer(250)));
      await projector.reach(jobLog.lastWrite());
      const saga = job.opcodes[index]!.saga;
      if (job.cancelRequested && (saga === undefined || saga.ended !== undefined)) return false;
    }
  };

  const drain = (): Promise<void> => {
    accepting = false;
    // One drain at a time, shared: a start waits for it, and no drain ends a later run's subscription.
    stopping ??= (async () => {
      while (running.size > 0) await Promise.allSettled([...running.values()]);
      subscription?.unsubscribe();
      subscription = undefined;
    })().finally(() => {
      stopping = undefined;
    });
    return stopping;
  };

  return {
    async start(token) {
      // A run that lost its lease may still be ending its jobs: they must be gone first.
      while (stopping) await stopping;
      if (accepting) return;
      fence = token;
      halted = undefined;
      // The previous leader's last writes happened before it let go of the lease, so
      // reading to the head now sees every job as it really is, not as it last looked.
      await projector.catchUp();
      accepting = true;
      subscription = projector.live().subscribe({
        next: requestTick,
        error: (e: unknown) => (e instanceof StoreFailureError ? storeGaveUp(e) : deps.onError?.(e)),
      });
      requestTick();
    },
    drain,
    halt(reason) {
      guard.fenced(reason);
      return drain();
    },
    running: () => running.size,
  };
};
