import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';
import { parseResponse, validatePlacement } from '../../allocators/response.js';
import type { ClusterState, InstanceConfig } from '../../domain/cluster-state.js';
import type { Failure } from '../../domain/events.js';
import { failure, failures } from '../../domain/failures.js';
import type { HandlerContext } from './handler.js';

/** What an allocator is asked: a request, the nodes it may answer with, and what must fit there. */
export interface Question {
  what: string;
  request: unknown;
  domain: string[];
  instance: Pick<InstanceConfig, 'name' | 'memoryMib' | 'vcpus'>;
}

/**
 * Asks an allocator where an instance should go, records the request and the answer
 * whatever they are, and accepts the answer only after checking it against the
 * mobility domain, node state and capacity (its output is believed only once checked).
 */
export const consultIallocator = async (ctx: HandlerContext, allocator: string, ask: (state: ClusterState) => Question | undefined): Promise<Either<Failure, string>> => {
  const { job, index } = ctx;
  const state = await ctx.state();
  const question = ask(state);
  if (!question) return E.left(failure('application', 'not_found', 'the instance does not exist'));
  const { request, domain, instance } = question;
  const program = (await ctx.iallocators?.find(allocator)) ?? null;
  const record = async (run: { exitCode: number | null; durationMs: number; stdout: string }, chosen: string[], problem?: string) =>
    ctx.record({
      type: 'IallocatorConsulted',
      data: { jobId: job.id, opIndex: index, allocator, program, request, exitCode: run.exitCode, durationMs: run.durationMs, answer: run.stdout.slice(0, 64 * 1024), chosen, ...(problem !== undefined && { problem }) },
    });
  const refused = async (problem: string, run = { exitCode: null as number | null, durationMs: 0, stdout: '' }) => {
    await record(run, [], problem);
    return E.left(failures.iallocatorFailed(`iallocator '${allocator}': ${problem}`));
  };
  if (!program || !ctx.iallocators) return refused(`not found (looked for it as a path, and on ${ctx.iallocatorSearchPath?.join(':') ?? 'the search path'})`);
  const timeoutSeconds = state.params!.iallocatorTimeoutSeconds;
  await ctx.log(`asking iallocator ${allocator} (${program}) where to ${question.what}`);
  const run = await ctx.iallocators.run(program, request, timeoutSeconds * 1000);
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
