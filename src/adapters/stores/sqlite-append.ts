import type Database from 'better-sqlite3';
import {
  checkExpectedRevision,
  checkFence,
  revisionAfter,
  type AppendOptions,
  type AppendResult,
  type ExpectedRevision,
  type NewEvent,
} from '../../domain/ports/event-store.js';
import { GENESIS_HASH, chainHashOf, type RawEventRow } from '../../domain/log-chain.js';
import { replayedAppendResult, type StoredIdentity } from './idempotency.js';

type UnchainedRow = Omit<RawEventRow, 'position' | 'prevHash' | 'hash'>;

/** Thrown inside an append (undoing it) when an event's id is already stored: it is run again looking ids up first. */
class KnownIds extends Error {}
const isKnownIdError = (error: unknown): boolean =>
  (error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE' && /opl_events\.id\b/.test((error as Error).message);

export type SqliteAppend = (stream: string, events: readonly NewEvent[], expected: ExpectedRevision, fence?: AppendOptions['fence']) => AppendResult;

/**
 * The SQLite append: one IMMEDIATE write transaction that checks the fencing token, the
 * expected revision and retried ids, links each event into the hash chain and writes it
 * with its stream's head. What it avoids reading is the point of this file: an append
 * costs what the append before the chain cost, within a tenth (`npm run bench`).
 */
export const sqliteAppender = (db: Database.Database): SqliteAppend => {
  const stmt = {
    byId: db.prepare('SELECT id, stream, revision, position FROM opl_events WHERE id = ?'),
    streamRevision: db.prepare('SELECT revision FROM opl_streams WHERE stream = ?').pluck(),
    insert: db.prepare(
      'INSERT INTO opl_events (position, id, stream, revision, type, data, metadata, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    head: db.prepare('SELECT position, hash FROM opl_events ORDER BY position DESC LIMIT 1').raw(),
    upsertStream: db.prepare(
      'INSERT INTO opl_streams (stream, revision) VALUES (?, ?) ON CONFLICT (stream) DO UPDATE SET revision = excluded.revision',
    ),
    leaseEpoch: db.prepare('SELECT epoch FROM opl_leases WHERE name = ?').pluck(),
  };
  const storedHead = () => (stmt.head.get() as [number, string] | undefined) ?? [0, GENESIS_HASH];

  /**
   * The chain's head as this connection last saw it, so that an append reads nothing to
   * link to it. Another writer (a second process on the same file) may have appended
   * since: then the position after the cached head is taken, the first INSERT fails on
   * the primary key, and the head is read inside this write transaction, where no one
   * else can move it, and the batch chained again. Positions run without gaps, so a
   * stale cache always shows this way. Updated only after the commit.
   */
  let cachedHead: readonly [number, string] = storedHead();
  /** Hashes and writes each row after `head`; throws what the first INSERT threw. Returns the new head. */
  const insertAfter = (rows: readonly UnchainedRow[], [headPosition, headHash]: readonly [number, string]): [number, string] => {
    let prev = headHash;
    let position = headPosition;
    for (const r of rows) {
      position++;
      const hash = chainHashOf(position, r.stream, r.revision, r.id, r.type, r.data, r.metadata, prev);
      stmt.insert.run(position, r.id, r.stream, r.revision, r.type, r.data, r.metadata, prev, hash);
      prev = hash;
    }
    return [position, prev];
  };
  const insertChained = (rows: readonly UnchainedRow[]): [number, string] => {
    try {
      return insertAfter(rows, cachedHead);
    } catch (error) {
      // Only the first INSERT can meet a taken position: after it, this transaction owns the end.
      if ((error as { code?: string }).code !== 'SQLITE_CONSTRAINT_PRIMARYKEY') throw error;
      return insertAfter(rows, storedHead());
    }
  };

  const storedAs = (events: readonly NewEvent[]) =>
    events.map((e) => {
      const row = stmt.byId.get(e.id) as { id: string; stream: string; revision: number; position: number } | undefined;
      return row && ({ ...row, revision: BigInt(row.revision), position: BigInt(row.position) } satisfies StoredIdentity);
    });

  /**
   * Ids are looked up only when the append cannot be new: when the expected revision
   * does not hold (a retried batch finds its stream moved on by its first attempt) or
   * when an INSERT hits an id already stored (a retry with `any`). Then the transaction
   * is undone and run again looking ids up first. New appends, nearly all of them, skip
   * one index probe per event; the UNIQUE index on ids stays the judge.
   */
  const appendNow = db.transaction(
    (stream: string, events: readonly NewEvent[], expected: ExpectedRevision, fence: AppendOptions['fence'], idsFirst: boolean): AppendResult & { hash?: string } => {
      // Read inside the append's write transaction: no take-over can slip in between.
      if (fence) checkFence(fence, BigInt((stmt.leaseEpoch.get(fence.lease) as number | undefined) ?? 0), events);
      const replay = () => replayedAppendResult(stream, events, storedAs(events));
      if (idsFirst) {
        const replayed = replay();
        if (replayed) return replayed;
      }
      const current = stmt.streamRevision.get(stream) as number | undefined;
      const actual = current === undefined ? 'no_stream' : BigInt(current);
      try {
        checkExpectedRevision(stream, expected, actual);
      } catch (error) {
        const replayed = idsFirst ? undefined : replay();
        if (replayed) return replayed;
        throw error;
      }
      const firstRevision = Number(revisionAfter(actual));
      const rows = events.map((e, i) => ({
        stream,
        revision: firstRevision + i,
        id: e.id,
        type: e.type,
        data: JSON.stringify(e.data),
        metadata: JSON.stringify(e.metadata),
      }));
      let newHead: [number, string];
      try {
        newHead = insertChained(rows);
      } catch (error) {
        if (!idsFirst && isKnownIdError(error)) throw new KnownIds();
        throw error;
      }
      const lastRevision = firstRevision + events.length - 1;
      stmt.upsertStream.run(stream, lastRevision);
      return { nextRevision: BigInt(lastRevision), position: BigInt(newHead[0]), hash: newHead[1] };
    },
  );

  return (stream, events, expected, fence) => {
    const appendOnce = (idsFirst: boolean) => appendNow.immediate(stream, events, expected, fence, idsFirst);
    let outcome: ReturnType<typeof appendOnce>;
    try {
      outcome = appendOnce(false);
    } catch (error) {
      if (!(error instanceof KnownIds)) throw error;
      outcome = appendOnce(true);
    }
    const { hash, ...result } = outcome;
    // A replayed append wrote nothing: the head it names is not new.
    if (hash !== undefined) cachedHead = [Number(result.position), hash];
    return result;
  };
};
