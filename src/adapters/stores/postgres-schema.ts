import type pg from 'pg';
import { StoreOpenError, type AuditLog } from '../../domain/ports/event-store.js';
import { GENESIS_HASH, chainHash, type RawEventRow } from '../../domain/log-chain.js';
import { FORMAT, UPGRADE_COMMAND } from './sqlite-schema.js';

const UNCHAINED_FORMAT = 'opledger-events-1';

/** Same tables as SQLite; `data` and `metadata` are JSONB and the chain hashes their `::text` form. */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS opl_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS opl_events (
  position BIGINT PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  stream TEXT NOT NULL,
  revision BIGINT NOT NULL,
  type TEXT NOT NULL,
  data JSONB NOT NULL,
  metadata JSONB NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL,
  UNIQUE (stream, revision)
);
CREATE TABLE IF NOT EXISTS opl_streams (stream TEXT PRIMARY KEY, revision BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS opl_leases (
  name TEXT PRIMARY KEY, holder TEXT NOT NULL, pid INTEGER NOT NULL, host TEXT NOT NULL, expires_at BIGINT NOT NULL
);
INSERT INTO opl_meta (key, value) VALUES ('format', '${FORMAT}') ON CONFLICT DO NOTHING;
`;

const formatOf = async (client: pg.ClientBase): Promise<string | undefined> =>
  (await client.query<{ value: string }>("SELECT value FROM opl_meta WHERE key = 'format'")).rows[0]?.value;

export const ensurePostgresFormat = async (client: pg.ClientBase, schema: string): Promise<void> => {
  const format = await formatOf(client);
  if (format === UNCHAINED_FORMAT) {
    throw new StoreOpenError(
      `schema ${schema} holds an opledger log in format '${format}', without a hash chain; upgrade it once with '${UPGRADE_COMMAND}' (see README, "For auditors")`,
    );
  }
  if (format !== FORMAT) throw new StoreOpenError(`schema ${schema} holds opledger store format '${format}', this opl reads '${FORMAT}'`);
};

/** The row text as the chain hashes it: JSONB's canonical text, positions as digits. */
export const RAW_COLUMNS = 'position::text, stream, revision::text, id, type, data::text AS data, metadata::text AS metadata, prev_hash, hash';

/**
 * Upgrades a format-1 log in place, in one transaction under the append lock (so no
 * append runs meanwhile); refuses a log with a position gap, and a second run.
 */
export const upgradePostgresLog = async (client: pg.ClientBase, schema: string, appendLock: number): Promise<{ events: number; from: string; to: string }> => {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [appendLock]);
    const hasMeta = (await client.query("SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'opl_meta'", [schema])).rowCount;
    const format = hasMeta ? await formatOf(client) : undefined;
    if (format === FORMAT) throw new StoreOpenError(`schema ${schema} is already in format '${FORMAT}': it was upgraded before, nothing done`);
    if (format !== UNCHAINED_FORMAT) throw new StoreOpenError(`schema ${schema} is not an opledger log in format '${UNCHAINED_FORMAT}' (found ${format ? `'${format}'` : 'no opledger format'}), nothing done`);
    await client.query("ALTER TABLE opl_events ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '', ADD COLUMN hash TEXT NOT NULL DEFAULT ''");
    let prev = GENESIS_HASH;
    let expected = 1;
    for (let after = '-9223372036854775808'; ; ) {
      const { rows } = await client.query<Record<string, string>>(`SELECT ${RAW_COLUMNS} FROM opl_events WHERE position > $1 ORDER BY opl_events.position LIMIT 5000`, [after]);
      if (rows.length === 0) break;
      const updates: string[] = [];
      for (const r of rows) {
        const position = Number(r.position);
        if (position !== expected) {
          throw new StoreOpenError(`schema ${schema}: position ${expected} is missing from the log (found ${position} next); it was altered before the upgrade, nothing done`);
        }
        const hash = chainHash({ position, stream: r.stream!, revision: Number(r.revision), id: r.id!, type: r.type!, data: r.data!, metadata: r.metadata! }, prev);
        updates.push(position.toString(), prev, hash);
        prev = hash;
        expected++;
      }
      const tuples = rows.map((_, i) => `($${i * 3 + 1}::bigint, $${i * 3 + 2}, $${i * 3 + 3})`).join(', ');
      await client.query(`UPDATE opl_events e SET prev_hash = v.p, hash = v.h FROM (VALUES ${tuples}) AS v(pos, p, h) WHERE e.position = v.pos`, updates);
      after = rows[rows.length - 1]!.position!;
    }
    await client.query("UPDATE opl_meta SET value = $1 WHERE key = 'format'", [FORMAT]);
    await client.query('COMMIT');
    return { events: expected - 1, from: UNCHAINED_FORMAT, to: FORMAT };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
};

type RawText = Omit<RawEventRow, 'position' | 'revision' | 'prevHash'> & { position: string; revision: string; prev_hash: string };
const fromText = (r: RawText): RawEventRow => ({
  position: Number(r.position), stream: r.stream, revision: Number(r.revision), id: r.id, type: r.type, data: r.data, metadata: r.metadata, prevHash: r.prev_hash, hash: r.hash,
});

/** The raw rows `audit verify` walks: JSONB as text, nothing parsed. */
export const postgresAuditLog = (pool: pg.Pool): AuditLog => ({
  readRawPages: async function* (afterPosition = Number.MIN_SAFE_INTEGER, pageSize = 10_000) {
    for (let after = afterPosition; ; ) {
      const { rows } = await pool.query<RawText>(`SELECT ${RAW_COLUMNS} FROM opl_events WHERE position > $1 ORDER BY opl_events.position LIMIT $2`, [after, pageSize]);
      if (rows.length > 0) yield rows.map(fromText);
      if (rows.length < pageSize) return;
      after = Number(rows[rows.length - 1]!.position);
    }
  },
  rawAt: async (position) => {
    const { rows } = await pool.query<RawText>(`SELECT ${RAW_COLUMNS} FROM opl_events WHERE position = $1`, [position]);
    return rows[0] && fromText(rows[0]);
  },
  streamHeads: async () => {
    const { rows } = await pool.query<{ stream: string; revision: string }>('SELECT stream, revision::text FROM opl_streams');
    return new Map(rows.map((r) => [r.stream, Number(r.revision)]));
  },
});
