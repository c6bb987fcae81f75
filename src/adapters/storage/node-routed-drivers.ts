import { z } from 'zod';
import type { DriverAction } from '../../domain/driver-protocol.js';
import type { NodeCaller } from '../hypervisors/node-routed.js';
import { NodeCallError } from '../nodes/node-answer.js';
import type { DriverFinder, DriverRunAnswer } from './ext-driver-call.js';

/** Beyond the driver's own timeout: time for the node to end it, record it and answer. */
const ANSWER_MARGIN_MS = 15_000;
const OUTPUT = 64 * 1024 + 256;

const RunAnswer = z.object({
  style: z.enum(['opledger', 'ganeti']),
  run: z
    .object({
      exitCode: z.number().int().nullable(),
      stdout: z.string().max(OUTPUT),
      stderr: z.string().max(OUTPUT),
      durationMs: z.number().nonnegative(),
      timedOut: z.boolean(),
    })
    .optional(),
});

/**
 * `ext` pool drivers run on the disk's node: a node with a daemon runs its own copy of
 * the pool's driver (found by name in its driver directories) through `driver-run`; a
 * node without one is served here by `local`. Everything else of a call — checking what
 * the driver printed, claiming a logical id, recording the call — stays in the engine,
 * between single runs, so a create that needs the log's word on an id costs no extra
 * protocol. A run that carries a call id is journaled on the node, so a call sent again
 * after a lost answer is answered from the first run; one without an id is never sent twice.
 */
export const nodeRoutedDrivers = (local: DriverFinder, route: (nodeName: string) => NodeCaller | undefined): DriverFinder => async (target) => {
  const daemon = route(target.nodeName);
  if (!daemon) return local(target);
  const pool = target.pool;
  if (!pool) throw new Error(`storage pool '${target.disk.pool ?? '?'}' of disk ${target.disk.index} no longer exists`);
  // Whole milliseconds, rounded up: a timeout of 1.005 s is 1005 ms, never 1004.999….
  const timeoutMs = Math.ceil(pool.timeoutSeconds * 1000);
  return {
    driver: pool.driver,
    pool: pool.name,
    timeoutMs,
    async run(action: DriverAction, env, callId): Promise<DriverRunAnswer> {
      const body = { node: target.nodeName, driver: pool.driver, action, env, timeoutMs, ...(callId !== undefined && { callId }) };
      const answer = await daemon.call('driver-run', body, { timeoutMs: timeoutMs + ANSWER_MARGIN_MS, ...(callId === undefined && { retries: 0 }) });
      const parsed = RunAnswer.safeParse(answer);
      if (!parsed.success) throw new NodeCallError('bad-answer', `node ${target.nodeName} answered driver-run of '${pool.driver}' ${action} with something that is not a driver's run`);
      const { style, run } = parsed.data;
      return { style, ...(run && { run }) };
    },
  };
};
