import Database from 'better-sqlite3';
import { StoreOpenError } from '../../domain/ports/event-store.js';
import { GENESIS_HASH, chainHash } from '../../domain/log-chain.js';

/** Format 2: every event carries `prev_hash` and `hash`, its link in the log's hash chain. */
export const FORMAT = 'opledger-events-2';
const UNCHAINED_FORMAT = 'opledger-events-1';

export const UPGRADE_COMMAND = 'opl audit upgrade';

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS opl_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS opl_events (
  position INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  stream TEXT NOT NULL,
  revision INTEGER NOT NULL,
  type TEXT NOT NULL,
  data TEXT NOT NULL,
  metadata TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL,
  UNIQUE (stream, revision)
);
CREATE TABLE IF NOT EXISTS opl_streams (stream TEXT PRIMARY KEY, revision INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS opl_leases (
  name TEXT PRIMARY KEY, holder TEXT NOT NULL, pid INTEGER NOT NULL, host TEXT NOT NULL, expires_at INTEGER NOT NULL
);
`;

const formatOf = (db: Database.Database): string | undefined =>
  (db.prepare("SELECT value FROM opl_meta WHERE key = 'format'").get() as { value: string } | undefined)?.value;

/** A new store gets this format; an existing one must already have it. */
export const ensureFormat = (db: Database.Database, path: string): void => {
  db.prepare('INSERT OR IGNORE INTO opl_meta (key, value) VALUES (?, ?)').run('format', FORMAT);
  const format = formatOf(db);
  if (format === UNCHAINED_FORMAT) {
    throw new StoreOpenError(
      `'${path}' holds an opledger log in format '${format}', without a hash chain; upgrade it once with '${UPGRADE_COMMAND}' (see README, "For auditors")`,
    );
  }
  if (format !== FORMAT) throw new StoreOpenError(`'${path}' holds opledger store format '${format}', this opl reads '${FORMAT}'`);
};

/**
 * Upgrades a format-1 log in place, in one transaction: adds the chain columns and hashes
 * every event as stored, in position order. A log with a position gap is refused: the
 * chain would vouch for a log that was already altered.
 */
export const upgradeSqliteLog = (path: string): { events: number; from: string; to: string } => {
  let db: Database.Database;
  try {
    db = new Database(path, { fileMustExist: true });
    db.pragma('busy_timeout = 15000');
  } catch (error) {
    throw new StoreOpenError(`cannot open SQLite store '${path}': ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'opl_meta'").get();
    const format = hasMeta ? formatOf(db) : undefined;
    if (format === FORMAT) throw new StoreOpenError(`'${path}' is already in format '${FORMAT}': it was upgraded before, nothing done`);
    if (format !== UNCHAINED_FORMAT) throw new StoreOpenError(`'${path}' is not an opledger log in format '${UNCHAINED_FORMAT}' (found ${format ? `'${format}'` : 'no opledger format'}), nothing done`);
    const events = db
      .transaction((): number => {
        db.exec("ALTER TABLE opl_events ADD COLUMN prev_hash TEXT NOT NULL DEFAULT ''; ALTER TABLE opl_events ADD COLUMN hash TEXT NOT NULL DEFAULT ''");
        // Paged: a statement being iterated blocks writes on the same connection.
        const page = db.prepare('SELECT position, stream, revision, id, type, data, metadata FROM opl_events WHERE position > ? ORDER BY position LIMIT 10000');
        const update = db.prepare('UPDATE opl_events SET prev_hash = ?, hash = ? WHERE position = ?');
        let prev = GENESIS_HASH;
        let expected = 1;
        for (let after = Number.MIN_SAFE_INTEGER; ; ) {
          const rows = page.all(after) as { position: number; stream: string; revision: number; id: string; type: string; data: string; metadata: string }[];
          for (const row of rows) {
            if (row.position !== expected) {
              throw new StoreOpenError(`'${path}': position ${expected} is missing from the log (found ${row.position} next); it was altered before the upgrade, nothing done`);
            }
            const hash = chainHash(row, prev);
            update.run(prev, hash, row.position);
            prev = hash;
            expected++;
          }
          if (rows.length === 0) break;
          after = rows[rows.length - 1]!.position;
        }
        db.prepare("UPDATE opl_meta SET value = ? WHERE key = 'format'").run(FORMAT);
        return expected - 1;
      })
      .immediate();
    return { events, from: UNCHAINED_FORMAT, to: FORMAT };
  } catch (error) {
    if (error instanceof StoreOpenError) throw error;
    // SQLite's own words alone ("file is not a database") would not say which file; the transaction left it as it was.
    const why = (error as { code?: string }).code === 'SQLITE_NOTADB' ? 'the file is not an SQLite database' : error instanceof Error ? error.message : String(error);
    throw new StoreOpenError(`cannot upgrade SQLite store '${path}': ${why}; nothing done`);
  } finally {
    db.close();
  }
};
