import Database from 'better-sqlite3';
import { Subject } from 'rxjs';
import {
  StoreOpenError,
  type EventStore,
  type HeldLease,
  type LeaseStore,
  type ReadAllOptions,
  type RecordedEvent,
} from '../../domain/ports/event-store.js';
import { rowOfTuple, type RawEventRow, type RawEventTuple } from '../../domain/log-chain.js';
import { SCHEMA, ensureFormat } from './sqlite-schema.js';
import { pollingSubscription, readAllPaged, readPages, type ReadPage } from './paging.js';
import { checkedHead } from './sqlite-head.js';
import { sqliteAppender } from './sqlite-append.js';
import { walkSqliteRanges } from './sqlite-ranges.js';
import { positionRanges } from '../../domain/log-chain-ranges.js';

/**
 * Durability: WAL with synchronous=NORMAL. A committed append survives the death of
 * the process (SIGKILL) but not necessarily a power cut; the benchmark's raw
 * reference uses the same settings.
 */
export const SQLITE_PRAGMAS = ['journal_mode = WAL', 'synchronous = NORMAL', 'busy_timeout = 15000'];

type Row = [number, string, string, number, string, string, string];

const toRecorded = (r: Row): RecordedEvent => ({
  position: BigInt(r[0]),
  id: r[1],
  stream: r[2],
  revision: BigInt(r[3]),
  type: r[4],
  data: JSON.parse(r[5]),
  metadata: JSON.parse(r[6]),
});


const openDatabase = (path: string): Database.Database => {
  let db: Database.Database;
  try {
    db = new Database(path);
    for (const pragma of SQLITE_PRAGMAS) db.pragma(pragma);
  } catch (error) {
    throw new StoreOpenError(`cannot open SQLite store '${path}': ${describe(error)}`);
  }
  try {
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map(
      (t) => t.name,
    );
    if (tables.length > 0 && !tables.includes('opl_meta')) {
      throw new StoreOpenError(
        `'${path}' is an SQLite database but not an opledger store (it holds tables ${tables.slice(0, 5).join(', ')})`,
      );
    }
    db.exec(SCHEMA);
    ensureFormat(db, path);
  } catch (error) {
    if (error instanceof StoreOpenError) {
      db.close();
      throw error;
    }
    db.close();
    throw new StoreOpenError(`cannot open SQLite store '${path}': ${describe(error)}`);
  }
  return db;
};

const describe = (error: unknown): string => {
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  return code === 'SQLITE_NOTADB' ? 'the file is not an SQLite database' : message;
};

/**
 * Stores made before leases had a fencing token get the epoch column at open. Leases
 * are not history (the events' format is untouched), so adding it in place is safe;
 * the check and the ALTER share one write transaction, so racing opens add it once.
 */
const addLeaseEpoch = (db: Database.Database): void => {
  const has = () => (db.prepare('PRAGMA table_info(opl_leases)').all() as { name: string }[]).some((c) => c.name === 'epoch');
  if (has()) return;
  db.transaction(() => {
    if (!has()) db.exec('ALTER TABLE opl_leases ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0');
  }).immediate();
};

type LeaseRow = Omit<HeldLease, 'epoch'> & { epoch: number };
const heldLease = (row: LeaseRow | undefined): HeldLease | undefined =>
  row && row.holder !== '' ? { ...row, epoch: BigInt(row.epoch) } : undefined;

export const createSqliteEventStore = (path: string, options: { pollMs?: number; refuseLostHead?: boolean } = {}): EventStore => {
  const db = openDatabase(path);
  addLeaseEpoch(db);
  const head = checkedHead(db, path, { refuse: options.refuseLostHead !== false });
  const appended = new Subject<void>();

  const stmt = {
    rawPage: db.prepare('SELECT position, stream, revision, id, type, data, metadata, prev_hash, hash FROM opl_events WHERE position > ? ORDER BY position LIMIT ?').raw(),
    rawAt: db.prepare('SELECT position, stream, revision, id, type, data, metadata, prev_hash, hash FROM opl_events WHERE position = ?').raw(),
    streamHeads: db.prepare('SELECT stream, revision FROM opl_streams').raw(),
    bounds: db.prepare('SELECT min(position), max(position) FROM opl_events').raw(),
    readStream: db
      .prepare(
        'SELECT position, id, stream, revision, type, data, metadata FROM opl_events WHERE stream = ? AND revision >= ? ORDER BY revision LIMIT ?',
      )
      .raw(),
    lease: db.prepare('SELECT holder, pid, host, expires_at AS expiresAt, epoch FROM opl_leases WHERE name = ?'),
    putLease: db.prepare(
      'INSERT INTO opl_leases (name, holder, pid, host, expires_at, epoch) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, pid = excluded.pid, host = excluded.host, expires_at = excluded.expires_at, epoch = excluded.epoch',
    ),
    // The row stays, holder emptied: its epoch must outlive the holder.
    dropLease: db.prepare("UPDATE opl_leases SET holder = '', pid = 0, host = '', expires_at = 0 WHERE name = ? AND holder = ?"),
  };

  // better-sqlite3's raw mode already gives each row as its columns' tuple.
  const rawTuplePages = async function* (afterPosition = Number.MIN_SAFE_INTEGER, pageSize = 10_000): AsyncGenerator<RawEventTuple[]> {
    for (let after = afterPosition; ; ) {
      const tuples = stmt.rawPage.all(after, pageSize) as RawEventTuple[];
      if (tuples.length > 0) yield tuples;
      if (tuples.length < pageSize) return;
      after = tuples[tuples.length - 1]![0];
    }
  };

  const pageStatements = new Map<string, Database.Statement>();
  const pageStatement = (filter: ReadAllOptions['filter']): Database.Statement => {
    const key = `${filter?.streamPrefix ?? ''}|${filter?.types?.length ?? 0}`;
    let s = pageStatements.get(key);
    if (!s) {
      const where = ['position >= ?'];
      if (filter?.streamPrefix) where.push("stream LIKE ? ESCAPE '\\'");
      if (filter?.types?.length) where.push(`type IN (${filter.types.map(() => '?').join(', ')})`);
      s = db
        .prepare(
          `SELECT position, id, stream, revision, type, data, metadata FROM opl_events WHERE ${where.join(' AND ')} ORDER BY position LIMIT ?`,
        )
        .raw();
      pageStatements.set(key, s);
    }
    return s;
  };

  const readPage: ReadPage = (from, limit, filter) => {
    const args: unknown[] = [Number(from)];
    if (filter?.streamPrefix) args.push(`${filter.streamPrefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    if (filter?.types?.length) args.push(...filter.types);
    args.push(limit);
    return (pageStatement(filter).all(...args) as Row[]).map(toRecorded);
  };

  const appendChained = sqliteAppender(db);

  const leases: LeaseStore = {
    tryAcquire: async (name, candidate, canTake) =>
      db
        .transaction((): bigint | null => {
          const row = stmt.lease.get(name) as LeaseRow | undefined;
          const current = heldLease(row);
          if (current && current.holder !== candidate.holder && !canTake(current)) return null;
          const epoch = current?.holder === candidate.holder ? current.epoch : BigInt(row?.epoch ?? 0) + 1n;
          stmt.putLease.run(name, candidate.holder, candidate.pid, candidate.host, candidate.expiresAt, epoch);
          return epoch;
        })
        .immediate(),
    release: async (name, holder) => {
      stmt.dropLease.run(name, holder);
    },
    current: async (name) => heldLease(stmt.lease.get(name) as LeaseRow | undefined) ?? null,
  };

  return {
    append: async (stream, events, expected, appendOptions) => {
      if (events.length === 0) throw new Error('append: no events given');
      const result = appendChained(stream, events, expected, appendOptions?.fence);
      head.committed(result.position, events[events.length - 1]!.id);
      appended.next();
      return result;
    },
    readStream: async function* (stream, fromRevision = 0n) {
      let next = Number(fromRevision);
      for (;;) {
        const rows = stmt.readStream.all(stream, next, 2000) as Row[];
        for (const row of rows) yield toRecorded(row);
        if (rows.length < 2000) return;
        next = rows[rows.length - 1]![3] + 1;
      }
    },
    readAll: (fromPosition = 1n, options) => readAllPaged(readPage, fromPosition, options),
    readAllPages: (fromPosition = 1n, options) => readPages(readPage, fromPosition, options),
    subscribeAll: (fromPosition = 1n) => pollingSubscription(readPage, fromPosition, appended, options.pollMs ?? 25),
    leases,
    audit: {
      readRawPages: async function* (afterPosition?: number, pageSize?: number) {
        for await (const tuples of rawTuplePages(afterPosition, pageSize)) {
          const rows = new Array<RawEventRow>(tuples.length);
          for (let i = 0; i < tuples.length; i++) rows[i] = rowOfTuple(tuples[i]!);
          yield rows;
        }
      },
      readRawTuplePages: rawTuplePages,
      rawAt: async (position) => {
        const row = stmt.rawAt.get(position) as RawEventTuple | undefined;
        return row && rowOfTuple(row);
      },
      streamHeads: async () => new Map(stmt.streamHeads.all() as [string, number][]),
      witnessedHead: async () => head.recorded(),
      walkRanges: async (parts, { minEvents, auditStream, onProgress }) => {
        if (path === ':memory:' || path === '') return undefined;
        const [low, end] = stmt.bounds.get() as [number | null, number | null];
        if (low === null || end === null || low < 1 || end < minEvents) return undefined;
        return { end, ranges: await walkSqliteRanges(path, positionRanges(end, parts), auditStream, onProgress) };
      },
    },
    close: async () => {
      appended.complete();
      head.close();
      db.close();
    },
  };
};
