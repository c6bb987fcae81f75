import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Subject, firstValueFrom, type Subscription } from 'rxjs';
import type { Opcode } from '../domain/opcodes.js';
import { StoreFailureError, type EventStore, type RecordedEvent } from '../domain/ports/event-store.js';
import type { Hypervisor } from '../domain/ports/hypervisor.js';
import { FINISHED_JOB_STATUSES, type JobView } from '../projections/job-view.js';
import { createProjector, type Projector } from '../projections/projector.js';
import { JOB_QUEUE_STREAM, jobStream } from '../projections/views.js';
import type { EffectPorts } from './sagas/effect.js';
import { createEngine, type Engine, type EngineDeps } from './engine.js';
import { jobEventRecord, type Recorder } from './job-records.js';
import { createLeadership, type Leadership } from './leadership.js';
import { CLIENT_PATIENCE, createStorePatience, patientStore, type Patience } from './store-patience.js';

/** How often a waiting client looks whether the leader has let go. */
const LEASE_POLL_MS = 50;

export interface ControlPlaneOptions {
  store: EventStore;
  hypervisor: Hypervisor;
  storage?: EffectPorts['storage'];
  drivers?: EngineDeps['drivers'];
  iallocators?: EngineDeps['iallocators'];
  iallocatorSearchPath?: string[];
  actor: string;
  now?: () => Date;
  newId?: () => string;
  leaseTtlMs?: number;
  maxConcurrentJobs?: number;
  killAt?: EngineDeps['killAt'];
  onError?: (error: unknown) => void;
  /** How long to keep trying while the store fails (default: a client's, CLIENT_PATIENCE). */
  patience?: Patience;
  /** Told once when the store starts failing and once when it works again. */
  onStoreTrouble?: (message: string) => void;
}

export interface SubmitOptions {
  priority?: number;
  dependsOn?: number[];
}

/**
 * One process's view of the control plane: submits jobs, follows them, and when no
 * live engine leads, leads for as long as it has to.
 */
export interface ControlPlane {
  readonly store: EventStore;
  readonly projector: Projector;
  readonly actor: string;
  submit(opcodes: Opcode[], options?: SubmitOptions): Promise<number>;
  cancel(jobId: number): Promise<void>;
  /** Resolves with the finished job, running the queue itself while nobody else leads. */
  awaitJob(jobId: number, onEvent?: (event: RecordedEvent) => void): Promise<JobView>;
  /** Leads until `stop` fires: `opl daemon`. */
  serve(stop: AbortSignal, onLeading?: () => void): Promise<void>;
  close(): Promise<void>;
}

export const createControlPlane = (options: ControlPlaneOptions): ControlPlane => {
  const { actor } = options;
  const storePatience = createStorePatience(options.patience ?? CLIENT_PATIENCE, options.onStoreTrouble);
  // Everything waits out a failing store, except the lease's renewals: those are
  // retried by their own timer, and piling them up behind a dead server helps nobody.
  const store = patientStore(options.store, storePatience);
  const storeFailed = new Subject<StoreFailureError>();
  const engineId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const recorder: Recorder = {
    engineId,
    now: options.now ?? (() => new Date()),
    newId: options.newId ?? randomUUID,
  };
  const projector = createProjector(store);
  const lost = new Subject<void>();
  const leadership: Leadership = createLeadership(options.store, engineId, {
    ...(options.leaseTtlMs !== undefined && { ttlMs: options.leaseTtlMs }),
    onLost: () => {
      // Another engine judged us gone and leads now: take no further jobs.
      leaders = 0;
      void engine.drain();
      lost.next();
    },
  });
  const engine: Engine = createEngine({
    ...recorder,
    store,
    projector,
    hypervisor: options.hypervisor,
    storage: options.storage ?? {},
    ...(options.drivers && { drivers: options.drivers }),
    ...(options.iallocators && { iallocators: options.iallocators }),
    ...(options.iallocatorSearchPath && { iallocatorSearchPath: options.iallocatorSearchPath }),
    ...(options.maxConcurrentJobs !== undefined && { maxConcurrentJobs: options.maxConcurrentJobs }),
    ...(options.killAt !== undefined && { killAt: options.killAt }),
    ...(options.onError && { onError: options.onError }),
    onStoreFailure: (failure) => storeFailed.next(failure),
  });
  let leaders = 0;
  /** A failed attempt to lead: a store failure is waited out (or given up on, thrown); anything else is thrown. */
  const leadFailed = (error: unknown): Promise<void> =>
    error instanceof StoreFailureError ? storePatience.wait(error) : Promise.reject(error);

  const lead = async (): Promise<boolean> => {
    if (!(await leadership.tryTake())) return false;
    leaders += 1;
    if (leaders === 1) await engine.start();
    return true;
  };
  const stepDown = async (): Promise<void> => {
    leaders -= 1;
    if (leaders > 0) return;
    await engine.drain();
    // A store that is down cannot be told; the lease then ends by expiry, or with this
    // process on the same host.
    await leadership.release().catch((error: unknown) => {
      if (!(error instanceof StoreFailureError)) throw error;
    });
  };

  const submit = async (opcodes: Opcode[], submitOptions: SubmitOptions = {}): Promise<number> => {
    const result = await store.append(
      JOB_QUEUE_STREAM,
      [
        {
          id: recorder.newId(),
          type: 'JobSubmitted',
          data: {
            opcodes,
            priority: submitOptions.priority ?? 0,
            dependsOn: submitOptions.dependsOn ?? [],
            actor,
            submittedAt: recorder.now().toISOString(),
          },
          metadata: { actor, recordedAt: recorder.now().toISOString(), engineId },
        },
      ],
      'any',
    );
    return Number(result.nextRevision) + 1;
  };

  const cancel = async (jobId: number): Promise<void> => {
    await store.append(
      jobStream(jobId),
      [jobEventRecord(recorder, { type: 'JobCancelRequested', data: { jobId, actor } }, actor)],
      'any',
    );
  };

  const awaitJob = async (jobId: number, onEvent?: (event: RecordedEvent) => void): Promise<JobView> => {
    const views = projector.views;
    await projector.catchUp();
    if (!views.jobs.has(jobId)) throw new Error(`job ${jobId} does not exist`);
    const ownStream = jobStream(jobId);
    let leading = false;
    let subscription: Subscription | undefined;
    let poll: NodeJS.Timeout | undefined;
    let lostSubscription: Subscription | undefined;
    let failedSubscription: Subscription | undefined;
    let attempt: Promise<void> | undefined;
    try {
      return await new Promise<JobView>((resolve, reject) => {
        const check = () => {
          const job = views.jobs.get(jobId);
          if (job && FINISHED_JOB_STATUSES.has(job.status)) resolve(job);
        };
        // One subscription for the whole wait, so no event can slip between checks.
        subscription = projector.live().subscribe({
          next: (event) => {
            if (onEvent && (event.metadata.jobId === jobId || event.stream === ownStream)) onEvent(event);
            check();
          },
          error: reject,
        });
        const tryLead = () => {
          if (leading || attempt) return;
          attempt = lead()
            .then((took) => {
              leading = took;
            })
            .catch(leadFailed)
            .catch(reject)
            .finally(() => {
              attempt = undefined;
            });
        };
        lostSubscription = lost.subscribe(() => {
          leading = false;
        });
        // The engine this process runs gave up on the store: the job's outcome is not known here.
        failedSubscription = storeFailed.subscribe(reject);
        poll = setInterval(tryLead, LEASE_POLL_MS);
        tryLead();
        check();
      });
    } finally {
      if (poll) clearInterval(poll);
      subscription?.unsubscribe();
      lostSubscription?.unsubscribe();
      failedSubscription?.unsubscribe();
      // An attempt to lead may still be under way; it must settle before we know
      // whether there is leadership to give back.
      await attempt;
      if (leading) await stepDown();
    }
  };

  const serve = async (stop: AbortSignal, onLeading?: () => void): Promise<void> => {
    const stopped = new Promise<void>((resolve) => stop.addEventListener('abort', () => resolve(), { once: true }));
    const failed = firstValueFrom(storeFailed).then((failure) => Promise.reject(failure));
    failed.catch(() => undefined);
    while (!stop.aborted) {
      const took = await lead().catch((error: unknown) => leadFailed(error).then(() => false));
      if (took) {
        onLeading?.();
        await Promise.race([stopped, firstValueFrom(lost), failed]).finally(stepDown);
        continue;
      }
      await Promise.race([stopped, new Promise((r) => setTimeout(r, 1000))]);
    }
  };

  return {
    store,
    projector,
    actor,
    submit,
    cancel,
    awaitJob,
    serve,
    close: async () => {
      // Whatever this process still leads, it lets go of: no renewal outlives it.
      // A store that is down cannot be told; the lease then ends with this process (same
      // host) or by expiry.
      await leadership.release().catch(() => undefined);
      await store.close();
    },
  };
};
