import type { Failure, JobEvent, OpcodeStatus } from '../domain/events.js';
import type { StoredOpcode } from '../domain/opcodes.js';
import type { DriverCall } from '../domain/ports/disk-storage.js';

export type JobStatus = OpcodeStatus;
export const FINISHED_JOB_STATUSES: ReadonlySet<JobStatus> = new Set(['success', 'error', 'canceled']);

export interface LogLine {
  time: string;
  level: 'info' | 'warning' | 'error';
  message: string;
}
/** One step of a saga (or the undo of one), as its intent and outcome recorded it. */
export interface SagaStepRecord {
  step: number;
  undo: boolean;
  callId: string;
  what: string;
  effect: Record<string, unknown>;
  outcome?: { logicalId?: string; sizeMib?: number; device?: string; uri?: string; migration?: { totalMs: number; downtimeMs: number; bytes: number } };
  failure?: Failure;
  ignored?: boolean;
}
/** The saga an opcode began: its decision is in the cluster stream; its steps in the job's. */
export interface SagaView {
  sagaId: string;
  ended?: 'completed' | 'undone';
  steps: SagaStepRecord[];
}
export interface OpcodeView {
  type: StoredOpcode['type'];
  input: StoredOpcode;
  status: OpcodeStatus;
  startedAt?: string;
  endedAt?: string;
  attempts: number;
  result?: unknown;
  error?: Failure;
  blockedBy?: string[];
  log: LogLine[];
  /** Every storage driver call this opcode made, in order. */
  storageCalls: DriverCall[];
  /** Whether a `cluster` event recorded this opcode's effect: a crash after it is a success. */
  effectRecorded: boolean;
  /** Set once the opcode's saga has begun (its decision is in the log). */
  saga?: SagaView;
}
export interface JobView {
  id: number;
  status: JobStatus;
  priority: number;
  dependsOn: number[];
  actor: string;
  submittedAt: string;
  startedAt?: string;
  endedAt?: string;
  cancelRequested: boolean;
  opcodes: OpcodeView[];
}

export const newJobView = (
  id: number,
  submitted: Extract<JobEvent, { type: 'JobSubmitted' }>['data'],
): JobView => ({
  id,
  status: 'queued',
  priority: submitted.priority,
  dependsOn: submitted.dependsOn,
  actor: submitted.actor,
  submittedAt: submitted.submittedAt,
  cancelRequested: false,
  opcodes: submitted.opcodes.map((op) => ({
    type: op.type,
    input: op,
    status: 'queued',
    attempts: 0,
    log: [],
    storageCalls: [],
    effectRecorded: false,
  })),
});

/** Folds one lifecycle event into its job's view, in place. */
export const evolveJob = (job: JobView, event: Exclude<JobEvent, { type: 'JobSubmitted' }>, at: string): void => {
  switch (event.type) {
    case 'JobCancelRequested':
      job.cancelRequested = true;
      if (job.status === 'running' || job.status === 'waiting') job.status = 'canceling';
      return;
    case 'OpcodeWaiting': {
      const op = job.opcodes[event.data.opIndex];
      if (!op) return;
      op.status = 'waiting';
      op.blockedBy = event.data.blockedBy;
      if (!job.cancelRequested) job.status = 'waiting';
      return;
    }
    case 'OpcodeStarted': {
      const op = job.opcodes[event.data.opIndex];
      if (!op) return;
      op.status = 'running';
      op.startedAt ??= at;
      op.attempts = event.data.attempt;
      delete op.blockedBy;
      job.startedAt ??= at;
      job.status = job.cancelRequested ? 'canceling' : 'running';
      return;
    }
    case 'IallocatorConsulted':
      job.opcodes[event.data.opIndex]?.log.push({
        time: at,
        level: event.data.problem ? 'error' : 'info',
        message: event.data.problem
          ? `iallocator ${event.data.allocator}: ${event.data.problem}`
          : `iallocator ${event.data.allocator} chose ${event.data.chosen.join(', ')}`,
      });
      return;
    case 'OpcodeStepDone':
      job.opcodes[event.data.opIndex]?.log.push({ time: at, level: 'info', message: `done: ${event.data.step}` });
      return;
    case 'SagaStepIntended': {
      const { jobId: _j, opIndex, ...intent } = event.data;
      const saga = job.opcodes[opIndex]?.saga;
      if (!saga) return;
      saga.steps = saga.steps.filter((s) => s.step !== intent.step || s.undo !== intent.undo);
      saga.steps.push(intent);
      return;
    }
    case 'SagaStepSucceeded':
    case 'SagaStepFailed': {
      const op = job.opcodes[event.data.opIndex];
      const record = op?.saga?.steps.find((s) => s.step === event.data.step && s.undo === event.data.undo);
      if (!op || !record) return;
      if (event.type === 'SagaStepSucceeded') {
        record.outcome = event.data.outcome;
        op.log.push({ time: at, level: 'info', message: `done: ${record.what}` });
      } else {
        record.failure = event.data.failure;
        record.ignored = event.data.ignored;
      }
      return;
    }
    case 'StorageDriverCalled': {
      const { jobId: _j, opIndex, ...call } = event.data;
      job.opcodes[opIndex]?.storageCalls.push(call);
      return;
    }
    case 'OpcodeLog':
      job.opcodes[event.data.opIndex]?.log.push({ time: at, level: event.data.level, message: event.data.message });
      return;
    case 'OpcodeSucceeded': {
      const op = job.opcodes[event.data.opIndex];
      if (!op) return;
      op.status = 'success';
      op.endedAt = at;
      op.result = event.data.result;
      return;
    }
    case 'OpcodeFailed': {
      const op = job.opcodes[event.data.opIndex];
      if (!op) return;
      op.status = event.data.failure.kind === 'canceled' ? 'canceled' : 'error';
      op.endedAt = at;
      op.error = event.data.failure;
      return;
    }
    case 'JobFinished':
      job.status = event.data.status;
      job.endedAt = at;
      for (const op of job.opcodes) {
        if (!FINISHED_JOB_STATUSES.has(op.status)) {
          op.status = event.data.status === 'canceled' ? 'canceled' : 'error';
          op.endedAt ??= at;
        }
      }
      return;
  }
};
