import { lockKey, type LockRequest } from '../domain/locks.js';

interface Held {
  exclusive?: string;
  shared: Set<string>;
}

/**
 * The leader's lock table. An owner takes all the locks of one opcode at once or
 * none of them, so owners never hold some locks while waiting for others and cannot
 * deadlock.
 */
export interface LockTable {
  /** Takes every lock, or returns the keys that block (taking none). */
  tryAcquire(owner: string, requests: readonly LockRequest[]): { granted: true } | { granted: false; blockedBy: string[] };
  release(owner: string): void;
  held(): Map<string, { exclusive?: string; shared: string[] }>;
}

export const createLockTable = (): LockTable => {
  const locks = new Map<string, Held>();
  const owned = new Map<string, string[]>();

  const conflicts = (owner: string, r: LockRequest): boolean => {
    const held = locks.get(lockKey(r));
    if (!held) return false;
    if (held.exclusive !== undefined && held.exclusive !== owner) return true;
    if (r.mode === 'exclusive') return [...held.shared].some((o) => o !== owner);
    return false;
  };

  return {
    tryAcquire(owner, requests) {
      const blockedBy = requests.filter((r) => conflicts(owner, r)).map(lockKey);
      if (blockedBy.length > 0) return { granted: false, blockedBy: [...new Set(blockedBy)] };
      const keys: string[] = owned.get(owner) ?? [];
      for (const r of requests) {
        const key = lockKey(r);
        const held = locks.get(key) ?? { shared: new Set<string>() };
        if (r.mode === 'exclusive') held.exclusive = owner;
        else held.shared.add(owner);
        locks.set(key, held);
        keys.push(key);
      }
      owned.set(owner, keys);
      return { granted: true };
    },
    release(owner) {
      for (const key of owned.get(owner) ?? []) {
        const held = locks.get(key);
        if (!held) continue;
        if (held.exclusive === owner) delete held.exclusive;
        held.shared.delete(owner);
        if (held.exclusive === undefined && held.shared.size === 0) locks.delete(key);
      }
      owned.delete(owner);
    },
    held: () =>
      new Map(
        [...locks].map(([key, h]) => [key, { ...(h.exclusive !== undefined && { exclusive: h.exclusive }), shared: [...h.shared] }]),
      ),
  };
};
