import * as E from 'fp-ts/lib/Either.js';
import { stat } from 'node:fs/promises';
import { driverEnvironment, type DriverAction } from '../../domain/driver-protocol.js';
import { StorageTimeoutError, type DiskTarget, type StorageContext } from '../../domain/ports/disk-storage.js';
import { driverScripts, findDriver, runDriverScript, type DriverRun, type DriverScripts } from './driver-runner.js';

const STDERR_LINES_LOGGED = 20;

export interface ResolvedDriver {
  scripts: DriverScripts;
  driver: string;
  pool: string;
  timeoutMs: number;
}

/**
 * The driver directory of a disk's pool: the one recorded with the pool when it was
 * added (so that a caller's environment cannot change which program removes a disk),
 * or, for pools recorded before that, the first on the search path.
 */
export const resolveDriver = async (target: DiskTarget, searchPath: readonly string[]): Promise<ResolvedDriver> => {
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
  return { scripts: await driverScripts(dir), driver: pool.driver, pool: pool.name, timeoutMs: pool.timeoutSeconds * 1000 };
};

export interface CallOptions<T> {
  extra?: Parameters<typeof driverEnvironment>[2];
  /** What the call owes, checked: its value, or why it is not believed. */
  parse: (run: DriverRun, scripts: DriverScripts) => E.Either<string, T> | Promise<E.Either<string, T>>;
  /** The logical id the call record names once the value is believed. */
  logicalIdOf?: (value: T) => string | undefined;
  /** Tells this call's journal entry from the step's own call (a create's check and clean-up). */
  callSuffix?: string;
}

export type DriverCaller = <T>(action: DriverAction, target: DiskTarget, ctx: StorageContext, options: CallOptions<T>) => Promise<T | undefined>;

/**
 * One driver call: run, log its stderr, parse what it owes, record the call with its
 * outcome, then answer or throw. The record is written whatever happened; it names a
 * logical id only once it is believed. Undefined: the driver has no such executable.
 */
export const driverCaller = (searchPath: readonly string[], journalDir: string | undefined): DriverCaller => async (action, target, ctx, options) => {
  const { scripts, driver, pool, timeoutMs } = await resolveDriver(target, searchPath);
  const script = await scripts.script(action);
  if (!script) return undefined;
  const callId = ctx.callId === undefined ? undefined : `${ctx.callId}${options.callSuffix ?? ''}`;
  const journal = journalDir !== undefined && callId !== undefined ? { dir: journalDir, callId } : undefined;
  const run = await runDriverScript(script, driverEnvironment(action, target, options.extra), timeoutMs, scripts.dir, journal);
  const lines = run.stderr.split('\n').filter((l) => l.trim() !== '');
  for (const line of lines.slice(0, STDERR_LINES_LOGGED)) await ctx.log('info', `${driver} ${action}: ${line}`);
  if (lines.length > STDERR_LINES_LOGGED) await ctx.log('info', `${driver} ${action}: (${lines.length - STDERR_LINES_LOGGED} more lines of stderr)`);
  const parsed = run.timedOut || run.exitCode !== 0 ? undefined : await options.parse(run, scripts);
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
