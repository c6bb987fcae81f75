import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';

/**
 * Where an engine kills itself with SIGKILL, for crash tests (OPL_FAULT_KILL_AT; never
 * in normal operation):
 *   step:0    right after OpcodeStarted, before anything else;
 *   reserved  once the saga's decision is in the log, before its first step;
 *   intent:N  while step N runs: its intent is recorded and its call under way;
 *   step:N    once step N's outcome is recorded (N counts from 1);
 *   recorded  once the opcode's cluster events are in the log, before it is marked done.
 */
export type KillPoint = { step: number } | { intent: number } | 'recorded' | 'reserved';

export const parseKillPoint = (text: string): Either<string, KillPoint> => {
  if (text === 'recorded' || text === 'reserved') return E.right(text);
  const step = /^step:(\d+)$/.exec(text);
  if (step) return E.right({ step: Number(step[1]) });
  const intent = /^intent:([1-9]\d*)$/.exec(text);
  if (intent) return E.right({ intent: Number(intent[1]) });
  return E.left(`OPL_FAULT_KILL_AT '${text}': expected step:N, intent:N, reserved or recorded`);
};

const same = (a: KillPoint, b: KillPoint): boolean => JSON.stringify(a) === JSON.stringify(b);

export const killHereIf = (point: KillPoint | undefined, here: KillPoint): void => {
  if (point !== undefined && same(point, here)) process.kill(process.pid, 'SIGKILL');
};

/** How long a call may run before an `intent:N` kill lands: long enough to be under way, short enough to land before a slow driver ends. */
const UNDER_WAY_MS = 150;

/** For `intent:N`: lets step N's call get under way, then kills the engine while it runs (or as it ends, if it was quick). */
export const killDuring = async (point: KillPoint | undefined, step: number, call: Promise<unknown>): Promise<void> => {
  if (point === undefined || !same(point, { intent: step })) return;
  await Promise.race([call.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, UNDER_WAY_MS))]);
  process.kill(process.pid, 'SIGKILL');
};
