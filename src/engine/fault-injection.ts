import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';

/**
 * Where an engine kills itself with SIGKILL, for crash tests: after the opcode's Nth
 * saga step is recorded (`step:0` is right after OpcodeStarted, before any step), or
 * once its cluster events are in the log but before the opcode is marked done
 * (`recorded`). Set through OPL_FAULT_KILL_AT; never in normal operation.
 */
export type KillPoint = { step: number } | 'recorded';

export const parseKillPoint = (text: string): Either<string, KillPoint> => {
  if (text === 'recorded') return E.right('recorded');
  const step = /^step:(\d+)$/.exec(text);
  return step ? E.right({ step: Number(step[1]) }) : E.left(`OPL_FAULT_KILL_AT '${text}': expected step:N or recorded`);
};

export const killHereIf = (point: KillPoint | undefined, here: KillPoint): void => {
  if (point === undefined) return;
  const hit = point === 'recorded' ? here === 'recorded' : here !== 'recorded' && here.step === point.step;
  if (hit) process.kill(process.pid, 'SIGKILL');
};
