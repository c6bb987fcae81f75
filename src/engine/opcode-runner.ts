import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';
import type { DomainError } from '../domain/errors.js';
import type { ClusterEvent, Failure } from '../domain/events.js';
import type { Opcode, OpcodeType } from '../domain/opcodes.js';
import type { NodeReach } from '../domain/ports/node-reach.js';
import type { DriverCatalog } from '../domain/ports/driver-catalog.js';
import { WrongExpectedRevisionError, type EventStore } from '../domain/ports/event-store.js';
import type { Iallocators } from '../domain/ports/iallocator.js';
import { heldProblem } from '../domain/saga-holds.js';
import { findNode } from '../domain/cluster-state.js';
import type { JobView, OpcodeView } from '../projections/job-view.js';
import type { Projector } from '../projections/projector.js';
import { CLUSTER_STREAM } from '../projections/views.js';
import { killHereIf, type KillPoint } from './fault-injection.js';
import type { Handler, HandlerContext, Handlers, Prepared } from './handlers/handler.js';
import { handlerOf } from './handlers/index.js';
import { storageContext, type JobLog } from './job-log.js';
import { createLogicalIdClaims } from './logical-id-claims.js';
import { failures } from '../domain/failures.js';
import { metadataFor, type Recorder } from './job-records.js';
import { runSaga, type SagaRunnerDeps } from './saga-runner.js';
import type { EffectPorts } from './sagas/effect.js';
import { describeKept, needsSaga, planSaga } from './sagas/index.js';

const CONFLICT_RETRIES = 20;

export interface OpcodeRunnerDeps extends Recorder, EffectPorts {
  store: EventStore;
  projector: Projector;
  jobLog: JobLog;
  handlers: Handlers;
  iallocators?: Iallocators;
  iallocatorSearchPath?: string[];
  drivers?: DriverCatalog;
  nodes?: NodeReach;
  killAt?: KillPoint;
}

export type OpcodeOutcome = Either<Failure, unknown>;

export const refusal = (error: DomainError): Failure => error.toFailure();

/** A short pause before deciding again after a conflict, spread so that racing engines do not collide again in step. */
const backoff = (retry: number) => new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(200, 5 * 2 ** retry)));

/**
 * Runs one opcode: prepare, decide, record the decision at the revision it was made
 * on (deciding again on a conflict), then — when its events touch the world — carry
 * it out as a saga and record the end. Reserve, then act, then record.
 */
export const createOpcodeRunner = (deps: OpcodeRunnerDeps) => {
  const { jobLog, projector } = deps;
  const state = async () => (await projector.reach(jobLog.lastWrite())).cluster;
  const identify = deps.storage.blockdev?.identify?.bind(deps.storage.blockdev);
  const claims = createLogicalIdClaims(() => projector.reach(jobLog.lastWrite()));
  const context = (job: JobView, index: number): HandlerContext => ({
    job,
    index,
    projector,
    state,
    log: (message, level) => jobLog.log(job, index, message, level),
    record: (...events) => jobLog.record(job, index, ...events),
    ...(deps.iallocators && { iallocators: deps.iallocators }),
    ...(deps.iallocatorSearchPath && { iallocatorSearchPath: deps.iallocatorSearchPath }),
    ...(deps.drivers && { drivers: deps.drivers }),
    ...(deps.nodes && { nodes: deps.nodes }),
    ...(deps.oob && { oob: deps.oob }),
    ...(identify && { identifyDevice: (node: string, path: string) => identify(node, path) }),
  });
  const appendCluster = (job: JobView, index: number, events: readonly ClusterEvent[], expected: bigint | 'any') =>
    jobLog.append(
      CLUSTER_STREAM,
      events.map((e) => ({ id: deps.newId(), type: e.type, data: e.data, metadata: metadataFor(deps, job.actor, job.id, index) })),
      expected === -1n ? 'no_stream' : expected,
    );

  /** Decides against the newest state and records the decision at its revision; a conflict means deciding again. */
  const decideAndRecord = async <T extends OpcodeType>(job: JobView, index: number, handler: Handler<T>, prepared: Prepared<T>) => {
    for (let retry = 0; retry < CONFLICT_RETRIES; retry++) {
      const current = await state();
      // Read together with the decision, with nothing awaited between: the views fold in place.
      const revision = current.revision;
      const held = heldProblem(current, prepared.opcode, prepared.devices);
      if (held) return E.left(refusal(held));
      const decision = handler.decide(current, prepared.opcode, { newUuid: deps.newId, ...(prepared.observed && { observed: prepared.observed }), ...(prepared.devices && { devices: prepared.devices }) });
      if (E.isLeft(decision)) return E.left(refusal(decision.left));
      const events = structuredClone(decision.right);
      if (events.length === 0) return E.right({ events, saga: undefined, serialNo: current.serial });
      const sagaId = `job-${job.id}/op-${index}`;
      const saga = needsSaga(events) ? sagaId : undefined;
      const recorded: ClusterEvent[] = saga ? [{ type: 'SagaBegun', data: { sagaId, jobId: job.id, opIndex: index, events } }] : events;
      try {
        const result = await appendCluster(job, index, recorded, revision);
        return E.right({ events, saga, serialNo: Number(result.nextRevision) + 1 });
      } catch (error) {
        if (!(error instanceof WrongExpectedRevisionError)) throw error;
        await projector.catchUp();
        await backoff(retry);
      }
    }
    return E.left(failures.conflict(`the cluster kept changing under this opcode; gave up after ${CONFLICT_RETRIES} tries`));
  };

  const sagaDeps = (job: JobView, index: number): SagaRunnerDeps => ({
    ports: { hypervisor: deps.hypervisor, storage: deps.storage, ...(deps.oob && { oob: deps.oob }) },
    newId: deps.newId,
    ...(deps.killAt !== undefined && { killAt: deps.killAt }),
    recordIntent: (r) =>
      jobLog.record(
        job,
        index,
        { type: 'SagaStepIntended', data: { jobId: job.id, opIndex: index, ...r } },
        { type: 'OpcodeLog', data: { jobId: job.id, opIndex: index, level: 'info', message: r.what } },
      ),
    recordSuccess: (step, undo, outcome) => jobLog.record(job, index, { type: 'SagaStepSucceeded', data: { jobId: job.id, opIndex: index, step, undo, outcome } }),
    recordFailure: (step, undo, f, ignored) => jobLog.record(job, index, { type: 'SagaStepFailed', data: { jobId: job.id, opIndex: index, step, undo, ignored, failure: f } }),
    log: (message, level) => jobLog.log(job, index, message, level),
    storage: (callId) => storageContext(jobLog, job, index, callId, claims),
    settled: (callId) => claims.release(callId),
  });

  /** Carries a recorded decision out, or on from where a lost engine left it, and records how it ended. */
  const carryOut = async (job: JobView, index: number, sagaId: string, events: readonly ClusterEvent[], resume?: OpcodeView['saga'], giveUp?: Failure): Promise<OpcodeOutcome> => {
    killHereIf(deps.killAt, 'reserved');
    const plan = planSaga(await state(), events);
    const result = await runSaga(sagaDeps(job, index), plan, resume, giveUp);
    if (E.isRight(result)) {
      const finals = plan.finish(result.right.outcomes);
      const written = await appendCluster(job, index, [{ type: 'SagaCompleted', data: { sagaId } }, ...finals], 'any');
      killHereIf(deps.killAt, 'recorded');
      return E.right({ changed: true, recorded: finals.map((e) => e.type), serialNo: Number(written.nextRevision) + 1 });
    }
    const partial = plan.keptOnFailure(result.left.outcomes);
    for (const kept of partial) await jobLog.log(job, index, `${describeKept(await state(), kept)}, though the job failed: that is not taken back`, 'warning');
    const current = await state();
    const owed = result.left.owed.flatMap(({ node, ...undo }) => {
      const nodeUuid = findNode(current, node)?.uuid;
      return nodeUuid ? [{ id: deps.newId(), nodeUuid, jobId: job.id, opIndex: index, step: undo.step, what: undo.what, effect: undo.effect as unknown as Record<string, unknown> }] : [];
    });
    await appendCluster(job, index, [{ type: 'SagaUndone', data: { sagaId, reason: result.left.failure.message, ...(owed.length > 0 && { owed }) } }, ...partial], 'any');
    return E.left(result.left.failure);
  };

  return {
    async run(job: JobView, index: number, opcode: Opcode): Promise<OpcodeOutcome> {
      const handler = handlerOf(deps.handlers, opcode);
      const ctx = context(job, index);
      const ran = handler.run ? await handler.run(opcode, ctx) : undefined;
      if (ran) return ran;
      const prepared = handler.prepare ? await handler.prepare(opcode, ctx) : E.right({ opcode });
      if (E.isLeft(prepared)) return prepared;
      const decided = await decideAndRecord(job, index, handler, prepared.right);
      if (E.isLeft(decided)) return decided;
      const { events, saga, serialNo } = decided.right;
      if (events.length === 0) {
        await ctx.log('nothing to do: the cluster is already in the requested state');
        return E.right({ changed: false });
      }
      if (saga === undefined) {
        killHereIf(deps.killAt, 'recorded');
        return E.right({ changed: true, recorded: events.map((e) => e.type), serialNo });
      }
      return carryOut(job, index, saga, events);
    },
    /** Goes on with a saga a lost engine began; one lost too often is undone instead. */
    async resume(job: JobView, index: number, giveUp?: Failure): Promise<OpcodeOutcome> {
      const saga = job.opcodes[index]!.saga!;
      const pending = (await state()).sagas.get(saga.sagaId);
      if (!pending) return E.left(failures.engineLost(`saga ${saga.sagaId} is not pending in the log`));
      await jobLog.log(job, index, giveUp ? `undoing what the lost engines did: ${giveUp.message}` : `going on with the saga the lost engine began (${saga.steps.filter((s) => s.outcome && !s.undo).length} step(s) done)`, giveUp ? 'error' : 'warning');
      return carryOut(job, index, saga.sagaId, pending.events, saga, giveUp);
    },
  };
};

export type OpcodeRunner = ReturnType<typeof createOpcodeRunner>;
