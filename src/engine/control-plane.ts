import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Subject, firstValueFrom, type Subscription } from 'rxjs';
import type { Opcode } from '../domain/opcodes.js';
import { FencedError, StoreFailureError, type EventStore, type RecordedEvent } from '../domain/ports/event-store.js';
import type { Hypervisor } from '../domain/ports/hypervisor.js';
import { FINISHED_JOB_STATUSES, type JobView } from '../projections/job-view.js';
import { createProjector, type Projector } from '../projections/projector.js';
import { JOB_QUEUE_STREAM, jobStream } from '../projections/views.js';
import type { EffectPorts } from './sagas/effect.js';
import { createEngine, type Engine, type EngineDeps } from './engine.js';
import { jobEventRecord, type Recorder } from './job-records.js';
import { LEADER_LEASE, createLeadership, type Leadership } from './leadership.js';
import { createTerms, type Term } from './terms.js';
import { CLIENT_PATIENCE, createStorePatience, patientStore, type Patience } from './store-patience.js';

/** How often a waiting client looks whether the leader has let go. */
const LEASE_POLL_MS = 50;

export interface ControlPlaneOptions {
  store: EventStore;
  hypervisor: Hypervisor;
  storage?: EffectPorts['storage'];
  /** Runs the nodes' oob programs (power off, on, status). */
  oob?: EffectPorts['oob'];
  drivers?: EngineDeps['drivers'];
  nodes?: EngineDeps['nodes'];
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

/** A job may depend only on jobs submitted before it: any other id would keep it waiting forever. */
export class UnknownDependencyError extends Error {
  override readonly name = 'UnknownDependencyError';
  constructor(readonly jobId: number) {
    super(`job ${jobId} does not exist (yet): a job can depend only on jobs submitted before it`);
  }
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
  // The lease is kept on the store itself: its renewals are retried by their own timer,
  // and piling them up behind a dead server helps nobody.
  const leadership: Leadership = createLeadership(options.store, engineId, {
    ...(options.leaseTtlMs !== undefined && { ttlMs: options.leaseTtlMs }),
    onLost: (token, epoch) => terms.stepAside(new FencedError(LEADER_LEASE, token, epoch, engineId)),
  });
  const engine: Engine = createEngine({
    ...recorder,
    store,
    projector,
    hypervisor: options.hypervisor,
    storage: options.storage ?? {},
    ...(options.oob && { oob: options.oob }),
    ...(options.drivers && { drivers: options.drivers }),
    ...(options.nodes && { nodes: options.nodes }),
    ...(options.iallocators && { iallocators: options.iallocators }),
    ...(options.iallocatorSearchPath && { iallocatorSearchPath: options.iallocatorSearchPath }),
    ...(options.maxConcurrentJobs !== undefined && { maxConcurrentJobs: options.maxConcurrentJobs }),
    ...(options.killAt !== undefined && { killAt: options.killAt }),
    ...(options.onError && { onError: options.onError }),
    onFenced: (fenced) => terms.stepAside(fenced),
    onStoreFailure: (failure) => storeFailed.next(failure),
  });
  const terms = createTerms(leadership, engine, options.onError);
  const { lead, stepDown } = terms;
  /** A failed attempt to lead: a store failure is waited out (or given up on, thrown); anything else is thrown. */
  const leadFailed = (error: unknown): Promise<void> =>
    error instanceof StoreFailureError ? storePatience.wait(error) : Promise.reject(error);

  const submit = async (opcodes: Opcode[], submitOptions: SubmitOptions = {}): Promise<number> => {
    // Ids only grow, so a job that exists now was submitted before this one: depending
    // only on existing jobs rules out depending on itself, on a later job, and cycles.
    const dependsOn = submitOptions.dependsOn ?? [];
    if (dependsOn.some((id) => !projector.views.jobs.has(id))) await projector.catchUp();
    const unknown = dependsOn.find((id) => !projector.views.jobs.has(id));
    if (unknown !== undefined) throw new UnknownDependencyError(unknown);
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
    /** The term this wait takes part in; cleared when it ends (the lease lost), so the wait goes on as a follower. */
    let leading: Term | undefined;
    let subscription: Subscription | undefined;
    let poll: NodeJS.Timeout | undefined;
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
          if ((leading && !leading.ended) || attempt) return;
          leading = undefined;
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
        // The engine this process runs gave up on the store: the job's outcome is not known here.
        failedSubscription = storeFailed.subscribe(reject);
        poll = setInterval(tryLead, LEASE_POLL_MS);
        tryLead();
        check();
      });
    } finally {
      if (poll) clearInterval(poll);
      subscription?.unsubscribe();
      failedSubscription?.unsubscribe();
      // An attempt to lead may still be under way; it must settle before we know
      // whether there is leadership to give back.
      await attempt;
      if (leading && !leading.ended) await stepDown(leading);
    }
  };

  const serve = async (stop: AbortSignal, onLeading?: () => void): Promise<void> => {
    const stopped = new Promise<void>((resolve) => stop.addEventListener('abort', () => resolve(), { once: true }));
    const failed = firstValueFrom(storeFailed).then((failure) => Promise.reject(failure));
    failed.catch(() => undefined);
    while (!stop.aborted) {
      const t = await lead().catch((error: unknown) => leadFailed(error).then(() => undefined));
      if (t) {
        onLeading?.();
        // Lost or stopped, the term is given up; lost, the loop waits to lead again and,
        // leading again, starts the engine afresh under the new token.
        await Promise.race([stopped, t.over, failed]).finally(() => stepDown(t));
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
      // Jobs of a run that lost its lease may still be ending (they write nothing more):
      // the store stays open until they have. Whatever this process still leads, it
      // lets go of: no renewal outlives it. A store that is down cannot be told; the
      // lease then ends with this process (same host) or by expiry.
      await engine.drain();
      await leadership.release().catch(() => undefined);
      options.nodes?.close();
      await store.close();
    },
  };
};
