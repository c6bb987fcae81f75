import * as E from 'fp-ts/lib/Either.js';
import {
  driverEnvironment,
  parseAttach,
  parseLogicalId,
  parseResizedSize,
  proposedVolumeName,
  type DriverAction,
} from '../../domain/driver-protocol.js';
import { StorageTimeoutError, type DiskStorage, type DiskTarget, type StorageContext } from '../../domain/ports/disk-storage.js';
import { driverScripts, findDriver, runDriverScript, type DriverRun, type DriverScripts } from './driver-runner.js';

const STDERR_LINES_LOGGED = 20;

export interface ExtDiskStorageOptions {
  /**
   * Where driver calls are journaled: with it, a call that carries a call id runs its
   * driver at most once, and a retry with that id gets the first run's result.
   */
  journalDir?: string;
}

/** `ext:POOL` disks: every operation is the pool's driver's executable for it. */
export const createExtDiskStorage = (searchPath: readonly string[], options: ExtDiskStorageOptions = {}): DiskStorage => {
  const scriptsFor = async (target: DiskTarget): Promise<{ scripts: DriverScripts; driver: string; pool: string; timeoutMs: number }> => {
    const pool = target.pool;
    if (!pool) throw new Error(`storage pool '${target.disk.pool ?? '?'}' of disk ${target.disk.index} no longer exists`);
    const dir = await findDriver(pool.driver, searchPath);
    if (!dir) throw new Error(`storage driver '${pool.driver}' of pool '${pool.name}' was not found in ${searchPath.join(':')}`);
    return { scripts: await driverScripts(dir), driver: pool.driver, pool: pool.name, timeoutMs: pool.timeoutSeconds * 1000 };
  };

  /**
   * One driver call: run, log its stderr, parse what it owes, record the call with
   * its outcome, then answer or throw. The record is written whatever happened.
   */
  const call = async <T>(
    action: DriverAction,
    target: DiskTarget,
    ctx: StorageContext,
    extra: Parameters<typeof driverEnvironment>[2],
    parse: (run: DriverRun, scripts: DriverScripts) => E.Either<string, T>,
    logicalIdOf: (value: T) => string | undefined = () => target.disk.logicalId || undefined,
  ): Promise<T | undefined> => {
    const { scripts, driver, pool, timeoutMs } = await scriptsFor(target);
    const script = await scripts.script(action);
    if (!script) return undefined;
    const journal = options.journalDir !== undefined && ctx.callId !== undefined ? { dir: options.journalDir, callId: ctx.callId } : undefined;
    const run = await runDriverScript(script, driverEnvironment(action, target, extra), timeoutMs, scripts.dir, journal);
    const lines = run.stderr.split('\n').filter((l) => l.trim() !== '');
    for (const line of lines.slice(0, STDERR_LINES_LOGGED)) await ctx.log('info', `${driver} ${action}: ${line}`);
    if (lines.length > STDERR_LINES_LOGGED) await ctx.log('info', `${driver} ${action}: (${lines.length - STDERR_LINES_LOGGED} more lines of stderr)`);
    const parsed = run.timedOut || run.exitCode !== 0 ? undefined : parse(run, scripts);
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
    const logicalId = value === undefined ? target.disk.logicalId || undefined : logicalIdOf(value);
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
    if (message !== undefined) {
      if (action === 'create' && run.exitCode === 0) {
        await ctx.log('error', `${where} may have made a volume opledger cannot name; look for VOL_NAME=${proposedVolumeName(target)} or instance ${target.instance.name} in pool '${pool}'`);
      }
      throw new Error(message);
    }
    return value;
  };

  return {
    async create(target, ctx) {
      const id = await call('create', target, ctx, { sizeMib: target.disk.sizeMib }, (run, scripts) =>
        // Ganeti's providers print nothing: the volume is called what we named it.
        scripts.style === 'ganeti' ? E.right(proposedVolumeName(target)) : parseLogicalId('create', run.stdout),
        (value) => value,
      );
      if (id === undefined) throw new Error(`storage driver '${target.pool?.driver}' has no 'create' executable`);
      return { logicalId: id };
    },
    async grow(target, sizeMib, ctx) {
      const size = await call('resize', target, ctx, { sizeMib }, (run, scripts) =>
        scripts.style === 'ganeti' && run.stdout.trim() === '' ? E.right(sizeMib) : parseResizedSize(run.stdout, sizeMib),
      );
      if (size === undefined) throw new Error(`storage driver '${target.pool?.driver}' has neither 'resize' nor 'grow'`);
      return { sizeMib: size };
    },
    async remove(target, ctx) {
      const removed = await call('remove', target, ctx, {}, () => E.right(true));
      if (removed === undefined) throw new Error(`storage driver '${target.pool?.driver}' has no 'remove' executable`);
    },
    async attach(target, ctx) {
      const attached = await call('attach', target, ctx, {}, (run) => parseAttach(run.stdout));
      if (attached === undefined) throw new Error(`storage driver '${target.pool?.driver}' has no 'attach' executable`);
      return attached;
    },
    async detach(target, ctx) {
      await call('detach', target, ctx, {}, () => E.right(true));
    },
    async rename(target, newInstanceName, _proposed, ctx) {
      const id = await call('rename', target, ctx, { newInstanceName }, (run) => parseLogicalId('rename', run.stdout), (value) => value);
      if (id !== undefined) return { logicalId: id };
      // Without `rename` (Ganeti providers have none) the volume keeps its name, which
      // is not bound to the instance's.
      const { scripts } = await scriptsFor(target);
      if (scripts.style === 'ganeti') return { logicalId: target.disk.logicalId };
      throw new Error(`storage driver '${target.pool?.driver}' has no 'rename' executable`);
    },
  };
};
