import * as E from 'fp-ts/lib/Either.js';
import { stat } from 'node:fs/promises';
import { driverEnvironment, type DriverAction, type DriverStyle } from '../../domain/driver-protocol.js';
import { StorageTimeoutError, type DiskTarget, type StorageContext } from '../../domain/ports/disk-storage.js';
import { driverScripts, findDriver, runDriverScript, type DriverRun } from './driver-runner.js';

const STDERR_LINES_LOGGED = 20;

/** One run of a driver's executable for an action, or (no `run`) that the driver has none. */
export interface DriverRunAnswer {
  style: DriverStyle;
  run?: DriverRun;
}

/**
 * A disk's pool driver, found on the host that runs it: this one for a node without a
 * daemon, the node's own for a node with one. `run` is at most once per call id where
 * the host keeps a journal: a retry with that id gets the first run's result.
 */
export interface FoundDriver {
  driver: string;
  pool: string;
  timeoutMs: number;
  run(action: DriverAction, env: Record<string, string>, callId: string | undefined): Promise<DriverRunAnswer>;
}

export type DriverFinder = (target: DiskTarget) => Promise<FoundDriver>;

/**
 * The driver directory of a disk's pool on this host: the one recorded with the pool
 * when it was added (so that a caller's environment cannot change which program removes
 * a disk), or, for pools recorded before that, the first on the search path.
 */
export const localDrivers = (searchPath: readonly string[], journalDir: string | undefined): DriverFinder => async (target) => {
  const pool = target.pool;
  if (!pool) throw new Error(`storage pool '${target.disk.pool ?? '?'}' of disk ${target.disk.index} no longer exists`);
  let dir: string | undefined;
  if (pool.driverDir !== undefined) {
    if (!(await stat(pool.driverDir).then((s) => s.isDirectory(), () => false))) {
      throw new Error(`storage driver '${pool.driver}' of pool '${pool.name}' was recorded at ${pool.driverDir}, which is no longer a directory`);
    }
    dir = pool.driverDir;
  } else {
    dir = await findDriver(pool.driver, searchPath);
    if (!dir) throw new Error(`storage driver '${pool.driver}' of pool '${pool.name}' was not found in ${searchPath.join(':')}`);
  }
  const scripts = await driverScripts(dir);
  const timeoutMs = pool.timeoutSeconds * 1000;
  return {
    driver: pool.driver,
    pool: pool.name,
    timeoutMs,
    async run(action, env, callId) {
      const script = await scripts.script(action);
      if (!script) return { style: scripts.style };
      const journal = journalDir !== undefined && callId !== undefined ? { dir: journalDir, callId } : undefined;
      return { style: scripts.style, run: await runDriverScript(script, env, timeoutMs, scripts.dir, journal) };
    },
  };
};

export interface CallOptions<T> {
  extra?: Parameters<typeof driverEnvironment>[2];
  /** What the call owes, checked: its value, or why it is not believed. */
  parse: (run: DriverRun, style: DriverStyle) => E.Either<string, T> | Promise<E.Either<string, T>>;
  /** The logical id the call record names once the value is believed. */
  logicalIdOf?: (value: T) => string | undefined;
  /** Tells this call's journal entry from the step's own call (a create's check and clean-up). */
  callSuffix?: string;
  /** What stands for the value when the driver has no executable for the action (nothing is recorded). */
  onMissing?: (style: DriverStyle) => T | undefined;
}

export type DriverCaller = <T>(action: DriverAction, target: DiskTarget, ctx: StorageContext, options: CallOptions<T>) => Promise<T | undefined>;

/**
 * One driver call: run, log its stderr, parse what it owes, record the call with its
 * outcome, then answer or throw. The record is written whatever happened; it names a
 * logical id only once it is believed. Undefined: the driver has no such executable.
 */
export const driverCaller = (find: DriverFinder): DriverCaller => async (action, target, ctx, options) => {
  const { driver, pool, timeoutMs, run: runOn } = await find(target);
  const callId = ctx.callId === undefined ? undefined : `${ctx.callId}${options.callSuffix ?? ''}`;
  const { style, run } = await runOn(action, driverEnvironment(action, target, options.extra), callId);
  if (!run) return options.onMissing?.(style);
  const lines = run.stderr.split('\n').filter((l) => l.trim() !== '');
  for (const line of lines.slice(0, STDERR_LINES_LOGGED)) await ctx.log('info', `${driver} ${action}: ${line}`);
  if (lines.length > STDERR_LINES_LOGGED) await ctx.log('info', `${driver} ${action}: (${lines.length - STDERR_LINES_LOGGED} more lines of stderr)`);
  const parsed = run.timedOut || run.exitCode !== 0 ? undefined : await options.parse(run, style);
  const outcome = run.timedOut ? 'timeout' : run.exitCode !== 0 || !parsed || E.isLeft(parsed) ? 'failed' : 'ok';
  const where = `driver '${driver}' ${action} of disk ${target.disk.index} of ${target.instance.name} on node ${target.nodeName}`;
  const message = run.timedOut
    ? `${where} did not finish within ${timeoutMs / 1000}s and was killed`
    : run.exitCode !== 0
      ? `${where} failed (exit ${run.exitCode}): ${lines.at(-1) ?? 'no message on stderr'}`
      : parsed && E.isLeft(parsed)
        ? `${where}: ${parsed.left}`
        : undefined;
  const value = parsed && E.isRight(parsed) ? parsed.right : undefined;
  const known = target.disk.logicalId || undefined;
  const logicalId = value === undefined ? known : options.logicalIdOf ? options.logicalIdOf(value) : known;
  await ctx.recordCall({
    pool,
    driver,
    action,
    node: target.nodeName,
    instance: target.instance.name,
    instanceUuid: target.instance.uuid,
    diskIndex: target.disk.index,
    exitCode: run.exitCode,
    durationMs: run.durationMs,
    outcome,
    ...(logicalId !== undefined && { logicalId }),
    ...(message !== undefined && { message }),
  });
  if (run.timedOut) throw new StorageTimeoutError(message!);
  if (message !== undefined) throw new Error(message);
  return value;
};
