import Database from 'better-sqlite3';
import { Subject } from 'rxjs';
import { checkExpectedRevision, revisionAfter, type AppendResult, type ExpectedRevision, type NewEvent } from '../src/domain/ports/event-store.js';
import { SQLITE_PRAGMAS } from '../src/adapters/stores/sqlite.js';
import { replayedAppendResult, type StoredIdentity } from '../src/adapters/stores/idempotency.js';

/**
 * The SQLite append as it was before the hash chain and the fencing token (commit
 * 9fd28f1): the same schema less the two hash columns, the same statements, the same
 * checks (idempotency by id, expected revision), SQLite numbering the rows. It lives
 * here, not in the store, so that "before and after in one run" compares today's
 * store with the code it replaced rather than with a switch inside today's code.
 */
const BEFORE_SCHEMA = `
CREATE TABLE IF NOT EXISTS opl_events (
  position INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  stream TEXT NOT NULL,
  revision INTEGER NOT NULL,
  type TEXT NOT NULL,
  data TEXT NOT NULL,
  metadata TEXT NOT NULL,
  UNIQUE (stream, revision)
);
CREATE TABLE IF NOT EXISTS opl_streams (stream TEXT PRIMARY KEY, revision INTEGER NOT NULL);
`;

export interface BeforeAppender {
  append(stream: string, events: readonly NewEvent[], expected: ExpectedRevision): Promise<AppendResult>;
  close(): void;
}

export const openPreChainAppender = (path: string): BeforeAppender => {
  const db = new Database(path);
  for (const pragma of SQLITE_PRAGMAS) db.pragma(pragma);
  db.exec(BEFORE_SCHEMA);
  const appended = new Subject<void>();
  const stmt = {
    byId: db.prepare('SELECT id, stream, revision, position FROM opl_events WHERE id = ?'),
    streamRevision: db.prepare('SELECT revision FROM opl_streams WHERE stream = ?').pluck(),
    insert: db.prepare('INSERT INTO opl_events (id, stream, revision, type, data, metadata) VALUES (?, ?, ?, ?, ?, ?)'),
    upsertStream: db.prepare(
      'INSERT INTO opl_streams (stream, revision) VALUES (?, ?) ON CONFLICT (stream) DO UPDATE SET revision = excluded.revision',
    ),
  };
  const appendNow = db.transaction((stream: string, events: readonly NewEvent[], expected: ExpectedRevision): AppendResult => {
    const stored = events.map((e) => {
      const row = stmt.byId.get(e.id) as { id: string; stream: string; revision: number; position: number } | undefined;
      return row && ({ ...row, revision: BigInt(row.revision), position: BigInt(row.position) } satisfies StoredIdentity);
    });
    const replayed = replayedAppendResult(stream, events, stored);
    if (replayed) return replayed;
    const current = stmt.streamRevision.get(stream) as number | undefined;
    const actual = current === undefined ? 'no_stream' : BigInt(current);
    checkExpectedRevision(stream, expected, actual);
    let revision = Number(revisionAfter(actual));
    let position = 0;
    for (const e of events) {
      const info = stmt.insert.run(e.id, stream, revision++, e.type, JSON.stringify(e.data), JSON.stringify(e.metadata));
      position = Number(info.lastInsertRowid);
    }
    stmt.upsertStream.run(stream, revision - 1);
    return { nextRevision: BigInt(revision - 1), position: BigInt(position) };
  });
  return {
    append: async (stream, events, expected) => {
      if (events.length === 0) throw new Error('append: no events given');
      const result = appendNow.immediate(stream, events, expected);
      appended.next();
      return result;
    },
    close: () => {
      appended.complete();
      db.close();
    },
  };
};
