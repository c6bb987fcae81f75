import { z } from 'zod';
import { FAILURE_KINDS, isFailureCode, type Failure } from './failures.js';
import { StoredOpcode } from './opcodes.js';

// A job's events (its queue, its opcodes, its saga steps), kept apart from the cluster's (events.ts, which re-exports them).

export const opcodeStatus = z.enum(['queued', 'waiting', 'running', 'canceling', 'canceled', 'success', 'error']);
/**
 * A failure as the log holds it, read into today's vocabulary (an upcaster: what is
 * stored is never rewritten). Logs written before the taxonomy was closed spell the
 * kind 'cancelled'; it is read as 'canceled'. A code this version does not know (from a
 * newer writer, or a typo in an old one) is read as 'internal_error' rather than
 * refusing to read the log, and the stored code is kept at the end of the message.
 */
export const failureSchema = z
  .object({
    kind: z.preprocess((kind) => (kind === 'cancelled' ? 'canceled' : kind), z.enum(FAILURE_KINDS)),
    code: z.string(),
    message: z.string(),
  })
  .transform(({ kind, code, message }): Failure =>
    isFailureCode(code)
      ? { kind, code, message }
      : { kind, code: 'internal_error', message: `${message} (recorded with code '${code}', unknown to this version)` },
  );
export type { Failure };

export const jobEventSchemas = {
  /** Appended to the `job-queue` stream; the job id is that event's revision + 1. */
  JobSubmitted: z.object({
    opcodes: z.array(StoredOpcode),
    priority: z.number().int(),
    dependsOn: z.array(z.number().int().positive()),
    actor: z.string(),
    submittedAt: z.string(),
  }),
  JobCancelRequested: z.object({ jobId: z.number().int(), actor: z.string() }),
  OpcodeWaiting: z.object({ jobId: z.number().int(), opIndex: z.number().int(), blockedBy: z.array(z.string()) }),
  OpcodeStarted: z.object({ jobId: z.number().int(), opIndex: z.number().int(), attempt: z.number().int() }),
  OpcodeLog: z.object({
    jobId: z.number().int(),
    opIndex: z.number().int(),
    level: z.enum(['info', 'warning', 'error']),
    message: z.string(),
  }),
  /** Every storage driver call, whatever its outcome: auditors see each side effect. */
  StorageDriverCalled: z.object({
    jobId: z.number().int(),
    opIndex: z.number().int(),
    pool: z.string(),
    driver: z.string(),
    action: z.string(),
    node: z.string(),
    instance: z.string(),
    instanceUuid: z.string(),
    diskIndex: z.number().int(),
    exitCode: z.number().int().nullable(),
    durationMs: z.number(),
    outcome: z.enum(['ok', 'failed', 'timeout']),
    logicalId: z.string().optional(),
    message: z.string().optional(),
  }),
  /** An allocator was asked where to place something: request, answer, verdict. */
  IallocatorConsulted: z.object({
    jobId: z.number().int(),
    opIndex: z.number().int(),
    allocator: z.string(),
    program: z.string().nullable(),
    request: z.unknown(),
    exitCode: z.number().int().nullable(),
    durationMs: z.number(),
    answer: z.string(),
    chosen: z.array(z.string()),
    problem: z.string().optional(),
  }),
  /**
   * A saga is about to run one of its steps (or, with `undo`, the undo of one): what
   * it will do, where, to which volume. `callId` goes with the call itself, so a
   * successor that finds this intent without an outcome can ask for that very call's
   * result instead of making the volume twice.
   */
  SagaStepIntended: z.object({
    jobId: z.number().int(),
    opIndex: z.number().int(),
    step: z.number().int().positive(),
    undo: z.boolean(),
    callId: z.string(),
    what: z.string(),
    effect: z.record(z.string(), z.unknown()),
  }),
  /** The step's outcome: what the storage or hypervisor answered. */
  SagaStepSucceeded: z.object({
    jobId: z.number().int(),
    opIndex: z.number().int(),
    step: z.number().int().positive(),
    undo: z.boolean(),
    outcome: z.object({
      logicalId: z.string().optional(),
      sizeMib: z.number().optional(),
      device: z.string().optional(),
      uri: z.string().optional(),
      migration: z.object({ totalMs: z.number(), downtimeMs: z.number(), bytes: z.number() }).optional(),
      powered: z.boolean().optional(),
    }),
  }),
  /** The step failed; `ignored` when the saga goes on without it (a dead source node). */
  SagaStepFailed: z.object({
    jobId: z.number().int(),
    opIndex: z.number().int(),
    step: z.number().int().positive(),
    undo: z.boolean(),
    ignored: z.boolean(),
    failure: failureSchema,
  }),
  /** Written by engines before sagas had intents: a side effect of an opcode finished. */
  OpcodeStepDone: z.object({ jobId: z.number().int(), opIndex: z.number().int(), step: z.string() }),
  OpcodeSucceeded: z.object({ jobId: z.number().int(), opIndex: z.number().int(), result: z.unknown() }),
  OpcodeFailed: z.object({ jobId: z.number().int(), opIndex: z.number().int(), failure: failureSchema }),
  JobFinished: z.object({ jobId: z.number().int(), status: z.enum(['success', 'error', 'canceled']) }),
} as const;
