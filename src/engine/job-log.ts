import type { Failure, JobEvent } from '../domain/events.js';
import type { StorageContext } from '../domain/ports/disk-storage.js';
import { FencedError, type EventStore, type ExpectedRevision, type Fence, type NewEvent } from '../domain/ports/event-store.js';
import type { JobView } from '../projections/job-view.js';
import { jobStream } from '../projections/views.js';
import { jobEventRecord, type Recorder } from './job-records.js';
import type { LogicalIdClaims } from './logical-id-claims.js';

export type JobRecord = Exclude<JobEvent, { type: 'JobSubmitted' }>;

/**
 * Everything an engine writes goes through here, so it knows the position of its own
 * last write and can read its own writes back before it decides anything.
 */
export interface JobLog {
  append(stream: string, events: readonly NewEvent[], expected: ExpectedRevision): Promise<{ nextRevision: bigint; position: bigint }>;
  record(job: JobView, opIndex: number | undefined, ...events: JobRecord[]): Promise<void>;
  log(job: JobView, opIndex: number, message: string, level?: 'info' | 'warning' | 'error'): Promise<void>;
  /** Ends an opcode: success (and the job, if it was the last), or failure (and the job with it). */
  finish(job: JobView, opIndex: number, outcome: Failure | 'success', result?: unknown): Promise<void>;
  lastWrite(): bigint;
}

/** How storage reports into an opcode's job: each driver call, and what a driver said; `callId` ties a call to its intent. */
export const storageContext = (jobLog: JobLog, job: JobView, opIndex: number, callId?: string, claims?: LogicalIdClaims): StorageContext => ({
  ...(callId !== undefined && { callId }),
  ...(claims && callId !== undefined && { claimLogicalId: (pool: string, id: string, disk: { instanceUuid: string; diskIndex: number }) => claims.claim({ callId, jobId: job.id }, pool, id, disk) }),
  recordCall: (call) => jobLog.record(job, opIndex, { type: 'StorageDriverCalled', data: { jobId: job.id, opIndex, ...call } }),
  log: (level, message) => jobLog.log(job, opIndex, message, level),
});

/**
 * Which lease the engine writes under. Every write carries its token; once a write is
 * refused (or the engine learns it lost the lease), `halted` says why and nothing more
 * is sent to the store: a fenced engine neither writes nor starts anything new.
 */
export interface WriteFence {
  fence(): Fence | undefined;
  halted(): FencedError | undefined;
  fenced(error: FencedError): void;
}

export const createJobLog = (store: EventStore, recorder: Recorder, guard?: WriteFence): JobLog => {
  let lastWrite = 0n;
  const append: JobLog['append'] = async (stream, events, expected) => {
    const halted = guard?.halted();
    if (halted) throw halted;
    const fence = guard?.fence();
    let result;
    try {
      result = await store.append(stream, events, expected, fence && { fence });
    } catch (error) {
      if (error instanceof FencedError) guard?.fenced(error);
      throw error;
    }
    if (result.position > lastWrite) lastWrite = result.position;
    return result;
  };
  const record: JobLog['record'] = async (job, opIndex, ...events) => {
    await append(jobStream(job.id), events.map((e) => jobEventRecord(recorder, e, job.actor, opIndex)), 'any');
  };
  return {
    append,
    record,
    log: (job, opIndex, message, level = 'info') => record(job, opIndex, { type: 'OpcodeLog', data: { jobId: job.id, opIndex, level, message } }),
    async finish(job, opIndex, outcome, result) {
      if (outcome === 'success') {
        const done: JobRecord = { type: 'OpcodeSucceeded', data: { jobId: job.id, opIndex, result: result ?? null } };
        const last = opIndex === job.opcodes.length - 1;
        await (last ? record(job, opIndex, done, { type: 'JobFinished', data: { jobId: job.id, status: 'success' } }) : record(job, opIndex, done));
        return;
      }
      const status = outcome.kind === 'canceled' ? 'canceled' : 'error';
      await record(
        job,
        opIndex,
        { type: 'OpcodeFailed', data: { jobId: job.id, opIndex, failure: outcome } },
        { type: 'JobFinished', data: { jobId: job.id, status } },
      );
    },
    lastWrite: () => lastWrite,
  };
};
