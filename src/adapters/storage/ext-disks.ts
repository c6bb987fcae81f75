import * as E from 'fp-ts/lib/Either.js';
import { parseAttach, parseLogicalId, parseResizedSize, proposedVolumeName } from '../../domain/driver-protocol.js';
import { StorageTimeoutError, type DiskStorage, type DiskTarget, type StorageContext } from '../../domain/ports/disk-storage.js';
import { driverCaller, localDrivers, type DriverCaller, type DriverFinder } from './ext-driver-call.js';

export interface ExtDiskStorageOptions {
  /**
   * Where driver calls are journaled: with it, a call that carries a call id runs its
   * driver at most once, and a retry with that id gets the first run's result.
   */
  journalDir?: string;
}

const withId = (target: DiskTarget, logicalId: string): DiskTarget => ({ ...target, disk: { ...target.disk, logicalId } });
const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * A volume a driver says it made is believed once the driver finds it again: Ganeti's
 * `verify` when the provider has one, else `attach` (which must print where the
 * volume appears), followed by `detach` so that creating leaves nothing attached.
 */
const checkMade = async (call: DriverCaller, target: DiskTarget, ctx: StorageContext): Promise<void> => {
  const verified = await call('verify', target, ctx, { parse: () => E.right(true), callSuffix: '.verify' });
  if (verified) return;
  const attached = await call('attach', target, ctx, { callSuffix: '.attach', parse: (run) => parseAttach(run.stdout) });
  if (attached === undefined) throw new Error(`storage driver '${target.pool?.driver}' has neither 'attach' nor 'verify': the volume it made cannot be checked`);
  try {
    await call('detach', target, ctx, { parse: () => E.right(true), callSuffix: '.detach' });
  } catch (error) {
    await ctx.log('warning', `the volume was found, but detaching it again failed: ${messageOf(error)}`);
  }
};

/**
 * After a create that failed (or whose volume was not believed): the driver's
 * `remove`, so that what it made does not block the name or leak. It names the volume
 * by LOGICAL_ID only if that id was accepted as this disk's; otherwise by the
 * variables the create had (VOL_NAME, the name we proposed, Ganeti's way) — never by
 * an id that another disk may hold.
 */
const cleanUp = async (call: DriverCaller, target: DiskTarget, accepted: string | undefined, ctx: StorageContext): Promise<void> => {
  const volume = accepted ?? `VOL_NAME=${proposedVolumeName(target)}`;
  await ctx.log('warning', `create failed; asking the driver to remove what it may have made (${volume})`);
  try {
    const removed = await call('remove', withId(target, accepted ?? ''), ctx, { parse: () => E.right(true), callSuffix: '.cleanup' });
    if (removed === undefined) await ctx.log('error', `storage driver '${target.pool?.driver}' has no 'remove': look for ${volume} of instance ${target.instance.name} in pool '${target.pool?.name}' by hand`);
  } catch (error) {
    await ctx.log('error', `removing what the failed create made failed too (${messageOf(error)}); look for ${volume} of instance ${target.instance.name} in pool '${target.pool?.name}' by hand`);
  }
};

/** A create that could not start: the driver has no `create`, so there is nothing to clean up. */
class NoCreate extends Error {}

/** `ext:POOL` disks run on this host: every operation is the pool's driver's executable for it. */
export const createExtDiskStorage = (searchPath: readonly string[], options: ExtDiskStorageOptions = {}): DiskStorage =>
  extDiskStorage(localDrivers(searchPath, options.journalDir));

/** `ext:POOL` disks, each call run by the driver `find` gives (on this host or on the disk's node). */
export const extDiskStorage = (find: DriverFinder): DiskStorage => {
  const call = driverCaller(find);

  /** What `create` printed, if it is a logical id this disk may have: well formed, and no other disk's in the pool. */
  const acceptId = async (target: DiskTarget, printed: E.Either<string, string>, ctx: StorageContext): Promise<E.Either<string, string>> => {
    if (E.isLeft(printed) || !ctx.claimLogicalId || !target.pool) return printed;
    const taken = await ctx.claimLogicalId(target.pool.name, printed.right, { instanceUuid: target.instance.uuid, diskIndex: target.disk.index });
    return taken === undefined ? printed : E.left(`create printed an id that is not this disk's: ${taken}`);
  };

  return {
    async create(target, ctx) {
      let accepted: string | undefined;
      try {
        const id = await call('create', target, ctx, {
          extra: { sizeMib: target.disk.sizeMib },
          // Ganeti's providers print nothing: the volume is called what we named it.
          parse: (run, style) => acceptId(target, style === 'ganeti' ? E.right(proposedVolumeName(target)) : parseLogicalId('create', run.stdout), ctx),
          logicalIdOf: (value) => value,
        });
        if (id === undefined) throw new NoCreate(`storage driver '${target.pool?.driver}' has no 'create' executable`);
        accepted = id;
        await checkMade(call, withId(target, accepted), ctx);
        return { logicalId: accepted };
      } catch (error) {
        if (error instanceof NoCreate) throw error;
        await cleanUp(call, target, accepted, ctx);
        if (error instanceof StorageTimeoutError) throw error;
        throw new Error(`${messageOf(error)}; the driver was asked to remove what it made`);
      }
    },
    async grow(target, sizeMib, ctx) {
      const size = await call('resize', target, ctx, {
        extra: { sizeMib },
        parse: (run, style) => (style === 'ganeti' && run.stdout.trim() === '' ? E.right(sizeMib) : parseResizedSize(run.stdout, sizeMib)),
      });
      if (size === undefined) throw new Error(`storage driver '${target.pool?.driver}' has neither 'resize' nor 'grow'`);
      return { sizeMib: size };
    },
    async remove(target, ctx) {
      const removed = await call('remove', target, ctx, { parse: () => E.right(true) });
      if (removed === undefined) throw new Error(`storage driver '${target.pool?.driver}' has no 'remove' executable`);
    },
    async attach(target, ctx) {
      const attached = await call('attach', target, ctx, { parse: (run) => parseAttach(run.stdout) });
      if (attached === undefined) throw new Error(`storage driver '${target.pool?.driver}' has no 'attach' executable`);
      return attached;
    },
    async detach(target, ctx) {
      await call('detach', target, ctx, { parse: () => E.right(true) });
    },
    async rename(target, newInstanceName, _proposed, ctx) {
      const id = await call('rename', target, ctx, {
        extra: { newInstanceName },
        parse: (run) => acceptId(target, parseLogicalId('rename', run.stdout), ctx),
        logicalIdOf: (value) => value,
        // Without `rename` (Ganeti providers have none) the volume keeps its name, which
        // is not bound to the instance's.
        onMissing: (style) => (style === 'ganeti' ? target.disk.logicalId : undefined),
      });
      if (id !== undefined) return { logicalId: id };
      throw new Error(`storage driver '${target.pool?.driver}' has no 'rename' executable`);
    },
  };
};
