import type pg from 'pg';
import { checkFence, type Fence, type HeldLease, type LeaseStore, type NewEvent } from '../../domain/ports/event-store.js';

/**
 * Stores made before leases had a fencing token get the epoch column at open (leases
 * are not history: the events' format is untouched). Looked up first, so that an open
 * of an up-to-date store takes no table lock; opens run one at a time (advisory lock).
 */
export const LEASE_EPOCH = `DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = 'opl_leases' AND column_name = 'epoch') THEN
    ALTER TABLE opl_leases ADD COLUMN epoch BIGINT NOT NULL DEFAULT 0;
  END IF;
END $$`;

interface LeaseRow {
  holder: string;
  pid: number;
  host: string;
  expires_at: string;
  epoch: string;
}
const heldLease = (r: LeaseRow): HeldLease => ({ holder: r.holder, pid: r.pid, host: r.host, expiresAt: Number(r.expires_at), epoch: BigInt(r.epoch) });

/**
 * Inside an append's transaction. FOR SHARE: a take-over (which locks the row FOR
 * UPDATE) waits for this append to commit, or this append waits for the take-over and
 * reads its epoch: the two never interleave.
 */
export const checkPostgresFence = async (client: pg.PoolClient, fence: Fence, events: readonly NewEvent[]): Promise<void> => {
  const lease = await client.query<{ epoch: string }>('SELECT epoch FROM opl_leases WHERE name = $1 FOR SHARE', [fence.lease]);
  checkFence(fence, BigInt(lease.rows[0]?.epoch ?? 0), events);
};

/** The leases, one row per name; a released lease keeps its row (holder emptied) and so its epoch. */
export const createPostgresLeases = (pool: pg.Pool): LeaseStore => {
  return {
    tryAcquire: async (name, candidate, canTake) => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query('INSERT INTO opl_leases (name, holder, pid, host, expires_at) VALUES ($1, \'\', 0, \'\', 0) ON CONFLICT DO NOTHING', [name]);
        const row = await client.query<LeaseRow>(
          'SELECT holder, pid, host, expires_at, epoch FROM opl_leases WHERE name = $1 FOR UPDATE',
          [name],
        );
        const current = heldLease(row.rows[0]!);
        if (current.holder !== '' && current.holder !== candidate.holder && !canTake(current)) {
          await client.query('ROLLBACK');
          return null;
        }
        // A renewal keeps the epoch; the lease passing to anyone else (or taken while free) raises it.
        const epoch = current.holder === candidate.holder ? current.epoch : current.epoch + 1n;
        await client.query('UPDATE opl_leases SET holder = $2, pid = $3, host = $4, expires_at = $5, epoch = $6 WHERE name = $1', [
          name,
          candidate.holder,
          candidate.pid,
          candidate.host,
          candidate.expiresAt,
          epoch.toString(),
        ]);
        await client.query('COMMIT');
        return epoch;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    release: async (name, holder) => {
      await pool.query("UPDATE opl_leases SET holder = '', pid = 0, host = '', expires_at = 0 WHERE name = $1 AND holder = $2", [name, holder]);
    },
    current: async (name) => {
      const row = await pool.query<LeaseRow>('SELECT holder, pid, host, expires_at, epoch FROM opl_leases WHERE name = $1', [name]);
      const r = row.rows[0];
      return r && r.holder !== '' ? heldLease(r) : null;
    },
  };
};
