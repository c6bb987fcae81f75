import { hostname } from 'node:os';
import type { EventStore, Lease } from '../domain/ports/event-store.js';

export const LEADER_LEASE = 'leader';

const pidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * A lease is gone when it has expired, or, on this very host, when the process that
 * holds it no longer exists: a SIGKILLed engine need not be waited out.
 */
export const leaseIsGone = (lease: Lease, now: number, host: string = hostname()): boolean =>
  lease.expiresAt < now || (lease.host === host && !pidAlive(lease.pid));

export interface Leadership {
  /**
   * Takes the lease if no live engine holds it, and keeps renewing it. Resolves with
   * the fencing token (the lease's epoch at take-over) while we lead, else undefined.
   */
  tryTake(): Promise<bigint | undefined>;
  release(): Promise<void>;
  /** Stops leading without a word to the store: another engine has taken the lease over. */
  abandon(): void;
  token(): bigint | undefined;
}

/** `epoch`: the lease's epoch now, when the store said it. */
export type OnLost = (token: bigint, epoch: bigint | undefined) => void;

export const createLeadership = (
  store: EventStore,
  engineId: string,
  options: { ttlMs?: number; onLost?: OnLost } = {},
): Leadership => {
  const ttl = options.ttlMs ?? 10_000;
  let renewal: NodeJS.Timeout | undefined;
  let renewing: Promise<void> | undefined;
  /** The token we lead with; undefined while we do not lead. */
  let held: bigint | undefined;
  let taking: Promise<bigint | undefined> | undefined;
  /** Whether this process ever took the lease: only then has it anything to let go of. */
  let took = false;
  const candidate = (): Lease => ({ holder: engineId, pid: process.pid, host: hostname(), expiresAt: Date.now() + ttl });
  const take = () => store.leases.tryAcquire(LEADER_LEASE, candidate(), (current) => leaseIsGone(current, Date.now()));
  const stopRenewing = () => {
    if (renewal) clearInterval(renewal);
    renewal = undefined;
  };
  const renew = async (token: bigint) => {
    const now = await take();
    // A renewal that finds another epoch means someone else held the lease meanwhile
    // (even if it is ours again now): whatever this engine decided under the old token
    // is stale, so it is lost all the same.
    if (now === token || held !== token) return;
    const epoch = now ?? (await store.leases.current(LEADER_LEASE).catch(() => null))?.epoch;
    if (held !== token) return;
    held = undefined;
    stopRenewing();
    options.onLost?.(token, epoch);
  };
  const startRenewing = (token: bigint) => {
    stopRenewing();
    renewal = setInterval(() => {
      // One renewal at a time; a store that fails now and then is tried again at the next tick.
      renewing ??= renew(token)
        .catch(() => undefined)
        .finally(() => {
          renewing = undefined;
        });
    }, Math.max(50, Math.floor(ttl / 3)));
  };
  return {
    tryTake() {
      if (held !== undefined) return Promise.resolve(held);
      // One attempt at a time: concurrent callers share it, so one lease is taken
      // and one renewal timer runs.
      taking ??= (async () => {
        // A read first: waiting clients poll often, and a write transaction each time
        // would contend with the leader's appends.
        const current = await store.leases.current(LEADER_LEASE);
        if (current && current.holder !== engineId && !leaseIsGone(current, Date.now())) return undefined;
        await renewing; // a renewal still under way would otherwise judge this take-over
        const token = (await take()) ?? undefined;
        held = token;
        if (token !== undefined) {
          took = true;
          startRenewing(token);
        }
        return token;
      })().finally(() => {
        taking = undefined;
      });
      return taking;
    },
    async release() {
      stopRenewing();
      // A renewal under way must not take the lease again after we let go of it.
      await renewing;
      // Also after losing it: a renewal may have taken it again under a new epoch. The
      // store lets go only if we are the holder.
      if (took) await store.leases.release(LEADER_LEASE, engineId);
      held = undefined;
    },
    abandon() {
      stopRenewing();
      held = undefined;
    },
    token: () => held,
  };
};
