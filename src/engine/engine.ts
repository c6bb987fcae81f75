import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';
import { Subject, firstValueFrom, race, timer, type Subscription } from 'rxjs';
import { decideCluster, type CleanupObservation } from '../domain/cluster-decide.js';
import { DTS_EXT_MIRROR } from '../domain/templates.js';
import { DomainError } from '../domain/errors.js';
import type { Failure } from '../domain/events.js';
import { locksFor } from '../domain/locks.js';
import { findInstance, findNode, type ClusterState, type InstanceConfig } from '../domain/cluster-state.js';
import { candidates } from '../domain/mobility.js';
import type { Iallocators } from '../domain/ports/iallocator.js';
import { allocateRequest, relocateRequest } from '../allocators/request.js';
import { parseResponse, validatePlacement } from '../allocators/response.js';
import { Opcode, type OpcodeOf } from '../domain/opcodes.js';
import { WrongExpectedRevisionError, type EventStore } from '../domain/ports/event-store.js';
import { FINISHED_JOB_STATUSES, type JobView } from '../projections/job-view.js';
import type { Projector } from '../projections/projector.js';
import { CLUSTER_STREAM, jobStream } from '../projections/views.js';
import { StorageTimeoutError, type DiskTarget, type StorageContext } from '../domain/ports/disk-storage.js';
import { describeEffect, recordOutcome, runEffect, undoOf, type EffectOutcome, type EffectPorts } from './effect-runner.js';
import { effectsOf, type Effect } from './effects.js';
import { failure, jobEventRecord, metadataFor, type Recorder } from './job-records.js';
import { killHereIf, type KillPoint } from './fault-injection.js';
import { createLockTable } from './lock-table.js';
import { byPriority, nextOpcode, readiness } from './scheduling.js';

/** An opcode whose engine died mid-run is retried this many times in all, then failed. */
export const MAX_ATTEMPTS = 3;
const CONFLICT_RETRIES = 20;

export interface EngineDeps extends Recorder, EffectPorts {
  store: EventStore;
  projector: Projector;
  iallocators?: Iallocators;
  iallocatorSearchPath?: string[];
  /** Checks an opcode needs from the world before it is decided (a driver exists, …). */
  checkOpcode?: (opcode: Opcode) => Promise<DomainError | undefined>;
  maxConcurrentJobs?: number;
  /** Crash tests only: where this engine kills itself. */
  killAt?: KillPoint;
  /** Where the engine reports what it could not write to the log (the log itself failing). */
  onError?: (error: unknown) => void;
}

export interface Engine {
  /** Begins taking jobs from the queue (the caller holds the leader lease). */
  start(): Promise<void>;
  /** Stops taking new jobs and resolves once the running ones have ended. */
  drain(): Promise<void>;
  running(): number;
}

type OpcodeOutcome = Either<Failure, unknown>;
interface Done {
  effect: Effect;
  outcome: EffectOutcome;
}

export const createEngine = (deps: EngineDeps): Engine => {
  const { store, projector } = deps;
  const views = projector.views;
  const maxJobs = deps.maxConcurrentJobs ?? 25;
  const locks = createLockTable();
  const locksReleased = new Subject<void>();
  const running = new Map<number, Promise<void>>();
  let accepting = false;
  let tickQueued = false;
  let subscription: Subscription | undefined;
  let lastWrite = 0n;


  const write = async (stream: string, events: Parameters<EventStore['append']>[1]) => {
    const result = await store.append(stream, events, 'any');
    if (result.position > lastWrite) lastWrite = result.position;
    return result;
  };
  const recordJob = (job: JobView, opIndex: number | undefined, ...events: Parameters<typeof jobEventRecord>[1][]) =>
    write(
      jobStream(job.id),
      events.map((e) => jobEventRecord(deps, e, job.actor, opIndex)),
    );
  const log = (job: JobView, opIndex: number, message: string, level: 'info' | 'warning' | 'error' = 'info') =>
    recordJob(job, opIndex, { type: 'OpcodeLog', data: { jobId: job.id, opIndex, level, message } });

  const finish = async (job: JobView, opIndex: number, outcome: Failure | 'success', result?: unknown) => {
    const last = opIndex === job.opcodes.length - 1;
    if (outcome === 'success') {
      const done = { type: 'OpcodeSucceeded' as const, data: { jobId: job.id, opIndex, result: result ?? null } };
      await (last
        ? recordJob(job, opIndex, done, { type: 'JobFinished', data: { jobId: job.id, status: 'success' } })
        : recordJob(job, opIndex, done));
      return;
    }
    const status = outcome.kind === 'canceled' ? 'canceled' : 'error';
    await recordJob(
      job,
      opIndex,
      { type: 'OpcodeFailed', data: { jobId: job.id, opIndex, failure: outcome } },
      { type: 'JobFinished', data: { jobId: job.id, status } },
    );
  };

  const tick = (): void => {
    tickQueued = false;
    if (!accepting) return;
    const candidates = [...views.openJobs]
      .map((id) => views.jobs.get(id)!)
      .filter((job) => !running.has(job.id))
      .sort(byPriority);
    for (const job of candidates) {
      if (running.size >= maxJobs) break;
      // A cancel request wins over whatever the dependencies would say.
      const ready = job.cancelRequested ? ({ kind: 'ready' } as const) : readiness(job, views.jobs);
      if (ready.kind === 'blocked') continue;
      const task = runJob(job, ready.kind === 'doomed' ? ready.reason : undefined)
        .catch((error: unknown) => deps.onError?.(error))
        .finally(() => {
          running.delete(job.id);
          requestTick();
        });
      running.set(job.id, task);
    }
  };
  const requestTick = (): void => {
    if (tickQueued || !accepting) return;
    tickQueued = true;
    setImmediate(tick);
  };

  const runJob = async (job: JobView, doomedBecause: string | undefined): Promise<void> => {
    if (doomedBecause !== undefined) {
      await finish(job, nextOpcode(job) ?? 0, failure('application', 'dependency_failed', doomedBecause));
      return;
    }
    for (;;) {
      await projector.reach(lastWrite);
      if (FINISHED_JOB_STATUSES.has(job.status)) return;
      const index = nextOpcode(job);
      if (index === undefined) {
        await recordJob(job, undefined, { type: 'JobFinished', data: { jobId: job.id, status: 'success' } });
        return;
      }
      const op = job.opcodes[index]!;
      if (job.cancelRequested) {
        await finish(job, index, failure('canceled', 'canceled', `canceled by request before opcode ${index} ran`));
        return;
      }
      if (op.status === 'running') {
        // Left running by an engine that died: its effect is either in the log or not.
        if (op.effectRecorded) {
          await log(job, index, 'the previous engine recorded this opcode\'s effect before it was lost; marking it done');
          await finish(job, index, 'success', { recovered: true });
          continue;
        }
        if (op.attempts >= MAX_ATTEMPTS) {
          await finish(
            job,
            index,
            failure('engine_lost', 'engine_lost', `the engine running this opcode was lost ${op.attempts} times; giving up`),
          );
          return;
        }
        await log(job, index, `the engine running this opcode was lost; retrying (attempt ${op.attempts + 1} of ${MAX_ATTEMPTS})`, 'warning');
        await removeUnrecordedDisks(job, index);
      }
      const opcode = Opcode.safeParse(op.input);
      if (!opcode.success) {
        const problem = opcode.error.issues[0];
        await finish(job, index, failure('application', 'malformed_opcode', `the log holds a malformed ${op.type}: ${problem?.path.join('.') ?? ''} ${problem?.message ?? ''}`.trim()));
        return;
      }
      const acquired = await acquireLocks(job, index, opcode.data);
      if (!acquired) continue;
      try {
        await recordJob(job, index, { type: 'OpcodeStarted', data: { jobId: job.id, opIndex: index, attempt: op.attempts + 1 } });
        const outcome = await execute(job, index, opcode.data);
        if (E.isLeft(outcome)) {
          await finish(job, index, outcome.left);
          return;
        }
        await finish(job, index, 'success', outcome.right);
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
      const attempt = locks.tryAcquire(`job-${job.id}`, locksFor(views.cluster, opcode));
      if (attempt.granted) return true;
      if (!recordedWaiting) {
        await recordJob(job, index, {
          type: 'OpcodeWaiting',
          data: { jobId: job.id, opIndex: index, blockedBy: attempt.blockedBy },
        });
        recordedWaiting = true;
      }
      await firstValueFrom(race(locksReleased, timer(250)));
      await projector.reach(lastWrite);
      if (job.cancelRequested) return false;
    }
  };

  const execute = async (job: JobView, index: number, requested: Opcode): Promise<OpcodeOutcome> => {
    let opcode = requested;
    if (opcode.type === 'OP_TEST_DELAY') return testDelay(job, index, opcode);
    const precondition = await deps.checkOpcode?.(opcode);
    if (precondition) return E.left(refusal(precondition));
    const defaultIallocator = views.cluster.params?.defaultIallocator;
    // migrate --cleanup moves nothing: it is decided from what the nodes say instead.
    const cleanupOf = opcode.type === 'OP_INSTANCE_MIGRATE' && opcode.cleanup ? opcode.instanceName : undefined;
    if ((opcode.type === 'OP_INSTANCE_MIGRATE' || opcode.type === 'OP_INSTANCE_FAILOVER') && cleanupOf === undefined && !opcode.targetNode && (opcode.iallocator || placedByAllocator(opcode.instanceName))) {
      const move = opcode;
      const placed = await consultIallocator(job, index, move.iallocator ?? defaultIallocator!, (state) => {
        const instance = findInstance(state, move.instanceName);
        return instance && { what: `relocate ${instance.name}`, request: relocateRequest(state, instance), domain: candidates(state, instance), instance };
      });
      if (E.isLeft(placed)) return placed;
      opcode = { ...move, targetNode: placed.right };
    }
    if (opcode.type === 'OP_INSTANCE_CREATE' && !opcode.primaryNode && (opcode.iallocator || defaultIallocator)) {
      const create = opcode;
      const placed = await consultIallocator(job, index, create.iallocator ?? defaultIallocator!, (state) => {
        const request = allocateRequest(state, create);
        return { what: `place new instance ${create.instanceName}`, request, domain: request.request.mobility_domain as string[], instance: { name: create.instanceName, memoryMib: create.memoryMib, vcpus: create.vcpus } };
      });
      if (E.isLeft(placed)) return placed;
      opcode = { ...create, primaryNode: placed.right };
    }
    const state = (await projector.reach(lastWrite)).cluster;
    const observed = cleanupOf !== undefined ? await observeInstance(job, index, state, cleanupOf) : undefined;
    const context = { newUuid: deps.newId, ...(observed && { observed }) };
    const decision = decideCluster(state, opcode, context);
    if (E.isLeft(decision)) return E.left(refusal(decision.left));
    const events = structuredClone(decision.right);
    if (events.length === 0) {
      await log(job, index, 'nothing to do: the cluster is already in the requested state');
      return E.right({ changed: false });
    }
    const done: Done[] = [];
    killHereIf(deps.killAt, { step: 0 });
    for (const effect of effectsOf(state, events)) {
      const result = await applyEffect(job, index, effect);
      if ('failure' in result && effect.mayFail) {
        await log(job, index, `${result.failure.message}; going on without it (--ignore-consistency)`, 'warning');
        continue;
      }
      if ('failure' in result) {
        await compensate(job, index, done);
        return E.left(result.failure);
      }
      recordOutcome(events, effect, result.outcome);
      done.push({ effect, outcome: result.outcome });
      await recordJob(job, index, { type: 'OpcodeStepDone', data: { jobId: job.id, opIndex: index, step: describeEffect(effect) } });
      killHereIf(deps.killAt, { step: done.length });
    }
    // Side effects are not repeated on a conflict: the opcode is decided again against
    // the newer state only to check it still holds, and the same events are appended.
    let expected = state.revision;
    for (let retry = 0; retry < CONFLICT_RETRIES; retry++) {
      try {
        const result = await store.append(
          CLUSTER_STREAM,
          events.map((e) => ({ id: deps.newId(), type: e.type, data: e.data, metadata: metadataFor(deps, job.actor, job.id, index) })),
          expected === -1n ? 'no_stream' : expected,
        );
        if (result.position > lastWrite) lastWrite = result.position;
        killHereIf(deps.killAt, 'recorded');
        return E.right({ changed: true, recorded: events.map((e) => e.type), serialNo: Number(result.nextRevision) + 1 });
      } catch (error) {
        if (!(error instanceof WrongExpectedRevisionError)) throw error;
        const newer = (await projector.catchUp()).cluster;
        const still = decideCluster(newer, opcode, context);
        if (E.isLeft(still)) {
          await compensate(job, index, done);
          return E.left(refusal(still.left));
        }
        expected = newer.revision;
      }
    }
    await compensate(job, index, done);
    return E.left(failure('application', 'conflict', `the cluster kept changing under this opcode; gave up after ${CONFLICT_RETRIES} tries`));
  };

  /**
   * For migrate --cleanup: asks the hypervisor of every online node the instance could
   * be on where it runs, and traces its disks' attach and detach calls through every
   * job, so the decider knows where they may still be attached. Says what it saw.
   */
  const observeInstance = async (job: JobView, index: number, state: ClusterState, name: string): Promise<CleanupObservation | undefined> => {
    const instance = findInstance(state, name);
    if (!instance) return undefined;
    const attached = new Set<string>();
    for (const other of [...views.jobs.values()].sort((a, b) => a.id - b.id)) {
      for (const call of other.opcodes.flatMap((o) => o.storageCalls)) {
        if (call.instanceUuid !== instance.uuid || call.outcome !== 'ok') continue;
        if (call.action === 'attach') attached.add(call.node);
        if (call.action === 'detach' || call.action === 'remove') attached.delete(call.node);
      }
    }
    const primary = state.nodes.get(instance.primaryNodeUuid)!.name;
    const asked = [...new Set([primary, ...candidates(state, instance), ...attached])].filter((n) => !findNode(state, n)?.offline).sort();
    const runningOn: string[] = [];
    for (const node of asked) if ((await deps.hypervisor.running(node)).includes(instance.name)) runningOn.push(node);
    const attachedOn = [...attached].sort();
    await log(job, index, `cleanup: asked ${asked.join(', ')}: ${instance.name} runs on ${runningOn.join(', ') || 'no node'}; its disks may be attached on ${attachedOn.join(', ') || 'no node but its primary'}`);
    return { runningOn, attachedOn };
  };

  /**
   * Whether a move that names neither node nor allocator goes to the cluster's default
   * allocator: only for instances it could place (externally mirrored ones); anything
   * else is left to the decider, which says why it cannot move.
   */
  const placedByAllocator = (instanceName: string): boolean => {
    const instance = findInstance(views.cluster, instanceName);
    return instance !== undefined && views.cluster.params?.defaultIallocator !== undefined && DTS_EXT_MIRROR.has(instance.diskTemplate);
  };

  /**
   * Asks an allocator where an instance should go, records the request and the
   * answer whatever they are, and accepts the answer only after checking it against
   * the mobility domain, node state and capacity.
   */
  const consultIallocator = async (
    job: JobView,
    index: number,
    allocator: string,
    ask: (state: ClusterState) => { what: string; request: unknown; domain: string[]; instance: Pick<InstanceConfig, 'name' | 'memoryMib' | 'vcpus'> } | undefined,
  ): Promise<Either<Failure, string>> => {
    const state = (await projector.reach(lastWrite)).cluster;
    const question = ask(state);
    if (!question) return E.left(failure('application', 'not_found', 'the instance does not exist'));
    const { request, domain, instance } = question;
    const program = (await deps.iallocators?.find(allocator)) ?? null;
    const record = async (run: { exitCode: number | null; durationMs: number; stdout: string }, chosen: string[], problem?: string) => {
      await recordJob(job, index, {
        type: 'IallocatorConsulted',
        data: { jobId: job.id, opIndex: index, allocator, program, request, exitCode: run.exitCode, durationMs: run.durationMs, answer: run.stdout.slice(0, 64 * 1024), chosen, ...(problem !== undefined && { problem }) },
      });
    };
    const refused = async (problem: string, run = { exitCode: null as number | null, durationMs: 0, stdout: '' }) => {
      await record(run, [], problem);
      return E.left(failure('application', 'iallocator_failed', `iallocator '${allocator}': ${problem}`));
    };
    if (!program) return refused(`not found (looked for it as a path, and on ${deps.iallocatorSearchPath?.join(':') ?? 'the search path'})`);
    const timeoutSeconds = state.params!.iallocatorTimeoutSeconds;
    await log(job, index, `asking iallocator ${allocator} (${program}) where to ${question.what}`);
    const run = await deps.iallocators!.run(program, request, timeoutSeconds * 1000);
    if (run.timedOut) return refused(`did not answer within ${timeoutSeconds}s and was killed`, run);
    if (run.exitCode !== 0) return refused(`exited ${run.exitCode}: ${(run.stderr || run.stdout).trim().split('\n').at(-1) ?? ''}`, run);
    const answer = parseResponse(run.stdout);
    if (E.isLeft(answer)) return refused(answer.left, run);
    const chosen = validatePlacement(state, instance, domain, answer.right);
    // A failed answer's reason is its info already; a bad successful one gets it added.
    if (E.isLeft(chosen)) return refused(`${chosen.left}${answer.right.success && answer.right.info ? ` (its info: ${answer.right.info})` : ''}`, run);
    await record(run, [chosen.right]);
    return E.right(chosen.right);
  };

  const storageContext = (job: JobView, index: number): StorageContext => ({
    recordCall: async (call) => {
      await recordJob(job, index, { type: 'StorageDriverCalled', data: { jobId: job.id, opIndex: index, ...call } });
    },
    log: async (level, message) => {
      await log(job, index, message, level);
    },
  });

  const applyEffect = async (job: JobView, index: number, effect: Effect): Promise<{ outcome: EffectOutcome } | { failure: Failure }> => {
    const what = describeEffect(effect);
    await log(job, index, what);
    try {
      return { outcome: await runEffect(deps, effect, storageContext(job, index)) };
    } catch (error) {
      const code = effect.kind === 'hypervisor' ? 'hypervisor_error' : 'storage_error';
      const kind = error instanceof StorageTimeoutError ? 'timeout' : 'application';
      return { failure: failure(kind, code, `${what} failed: ${error instanceof Error ? error.message : String(error)}`) };
    }
  };

  /**
   * Disks a lost engine had a driver create for this opcode but never recorded in the
   * cluster: found in the job's driver calls and removed before the opcode runs again,
   * so a crash does not leak them.
   */
  const removeUnrecordedDisks = async (job: JobView, index: number): Promise<void> => {
    const known = new Set([...views.cluster.instances.values()].flatMap((i) => i.disks.map((d) => d.logicalId)));
    const calls = job.opcodes[index]!.storageCalls;
    const leaked = calls.filter(
      (c) => c.action === 'create' && c.outcome === 'ok' && c.logicalId && !known.has(c.logicalId) &&
        !calls.some((r) => r.action === 'remove' && r.outcome === 'ok' && r.logicalId === c.logicalId),
    );
    const done: Done[] = leaked.map((call) => {
      const pool = views.cluster.pools.get(call.pool);
      const target: DiskTarget = {
        nodeName: call.node,
        template: 'ext',
        instance: { name: call.instance, uuid: call.instanceUuid, tags: [] },
        disk: { index: call.diskIndex, sizeMib: 0, logicalId: call.logicalId!, pool: call.pool, params: {}, adopted: false },
        peers: [call.node],
        ...(pool && { pool }),
      };
      return { effect: { eventIndex: 0, kind: 'disk', action: 'create', target }, outcome: { logicalId: call.logicalId! } };
    });
    if (done.length > 0) {
      await log(job, index, `found ${done.length} disk(s) created by the lost engine but never recorded: ${leaked.map((c) => c.logicalId).join(', ')}`, 'warning');
      await compensate(job, index, done);
    }
  };

  /**
   * Undoes what an opcode had done before it failed, newest first: disks it made are
   * removed, instances it started are stopped. What cannot be undone is said in the
   * job log with what an operator needs to clean it up by hand.
   */
  const compensate = async (job: JobView, index: number, done: readonly Done[]): Promise<void> => {
    for (const { effect, outcome } of [...done].reverse()) {
      const undo = undoOf(effect, outcome);
      if (!undo) continue;
      const what = describeEffect(undo);
      await log(job, index, `undoing: ${what}`, 'warning');
      try {
        await runEffect(deps, undo, storageContext(job, index));
      } catch (error) {
        await log(job, index, `could not undo (${what}): ${error instanceof Error ? error.message : String(error)}; clean it up by hand`, 'error');
      }
    }
  };

  const testDelay = async (job: JobView, index: number, opcode: OpcodeOf<'OP_TEST_DELAY'>): Promise<OpcodeOutcome> => {
    const checked = decideCluster(views.cluster, opcode, { newUuid: deps.newId });
    if (E.isLeft(checked)) return E.left(refusal(checked.left));
    await log(job, index, `sleeping for ${opcode.durationSeconds}s`);
    const until = Date.now() + opcode.durationSeconds * 1000;
    while (Date.now() < until) {
      await new Promise((r) => setTimeout(r, Math.min(100, until - Date.now())));
      await projector.catchUp();
      if (job.cancelRequested) return E.left(failure('canceled', 'canceled', 'canceled by request while running'));
    }
    if (opcode.fail) return E.left(failure('application', 'test_failure', 'OP_TEST_DELAY was asked to fail'));
    return E.right(null);
  };

  return {
    async start() {
      if (accepting) return;
      // The previous leader's last writes happened before it let go of the lease, so
      // reading to the head now sees every job as it really is, not as it last looked.
      await projector.catchUp();
      accepting = true;
      subscription = projector.live().subscribe({ next: requestTick, error: (e: unknown) => deps.onError?.(e) });
      requestTick();
    },
    async drain() {
      accepting = false;
      while (running.size > 0) await Promise.allSettled([...running.values()]);
      subscription?.unsubscribe();
    },
    running: () => running.size,
  };
};

const refusal = (error: DomainError): Failure => failure('application', error.code, error.message);
