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
  /** Takes the lease if no live engine holds it, and keeps renewing it; true if we lead. */
  tryTake(): Promise<boolean>;
  release(): Promise<void>;
  leading(): boolean;
}

export const createLeadership = (
  store: EventStore,
  engineId: string,
  options: { ttlMs?: number; onLost?: () => void } = {},
): Leadership => {
  const ttl = options.ttlMs ?? 10_000;
  let renewal: NodeJS.Timeout | undefined;
  let leading = false;
  let taking: Promise<boolean> | undefined;
  const candidate = (): Lease => ({ holder: engineId, pid: process.pid, host: hostname(), expiresAt: Date.now() + ttl });
  const take = () => store.leases.tryAcquire(LEADER_LEASE, candidate(), (current) => leaseIsGone(current, Date.now()));
  const stopRenewing = () => {
    if (renewal) clearInterval(renewal);
    renewal = undefined;
  };
  const startRenewing = () => {
    stopRenewing();
    renewal = setInterval(() => {
      take()
        .then((kept) => {
          if (!kept && leading) {
            leading = false;
            stopRenewing();
            options.onLost?.();
          }
        })
        .catch(() => undefined);
    }, Math.max(50, Math.floor(ttl / 3)));
  };
  return {
    tryTake() {
      if (leading) return Promise.resolve(true);
      // One attempt at a time: concurrent callers share it, so one lease is taken
      // and one renewal timer runs.
      taking ??= (async () => {
        // A read first: waiting clients poll often, and a write transaction each time
        // would contend with the leader's appends.
        const current = await store.leases.current(LEADER_LEASE);
        if (current && current.holder !== engineId && !leaseIsGone(current, Date.now())) return false;
        leading = await take();
        if (leading) startRenewing();
        return leading;
      })().finally(() => {
        taking = undefined;
      });
      return taking;
    },
    async release() {
      stopRenewing();
      if (leading) await store.leases.release(LEADER_LEASE, engineId);
      leading = false;
    },
    leading: () => leading,
  };
};
