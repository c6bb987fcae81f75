import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyLog } from '../../../src/adapters/audit/verify.js';
import { headPath } from '../../../src/adapters/stores/sqlite-head.js';
import { createSqliteEventStore } from '../../../src/adapters/stores/sqlite.js';
import { chainHash } from '../../../src/domain/log-chain.js';
import { StoreOpenError } from '../../../src/domain/ports/event-store.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tempFile = () => {
  const dir = mkdtempSync(join(tmpdir(), 'opl-witness-'));
  dirs.push(dir);
  return join(dir, 'events.sqlite');
};
const event = (n: number) => ({ id: randomUUID(), type: 'Written', data: { n }, metadata: { actor: 't', recordedAt: new Date().toISOString() } });

/** A log of COUNT events in two streams, closed; its -head file records the last one. */
const writtenLog = async (count: number): Promise<{ path: string; ids: string[] }> => {
  const path = tempFile();
  const store = createSqliteEventStore(path);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const e = event(i);
    ids.push(e.id);
    await store.append(`s-${i % 2}`, [e], 'any');
  }
  await store.close();
  return { path, ids };
};

const sql = (path: string, run: (db: Database.Database) => void) => {
  const db = new Database(path);
  try {
    run(db);
  } finally {
    db.close();
  }
};

describe('audit verify: the -head witness of an SQLite log', () => {
  it('names the end of a log dropped by SQL together with its stream heads, which the chain alone cannot see', async () => {
    const { path, ids } = await writtenLog(6);
    // The last two events and every trace of them in the stream heads: the chain still holds.
    sql(path, (db) => {
      db.prepare('DELETE FROM opl_events WHERE position > 4').run();
      db.prepare('UPDATE opl_streams SET revision = 1').run();
    });
    // Every other open refuses such a log…
    expect(() => createSqliteEventStore(path)).toThrow(StoreOpenError);
    // …the auditor's opens it, and says what is missing.
    const store = createSqliteEventStore(path, { refuseLostHead: false });
    try {
      const report = await verifyLog(store.audit);
      expect(report.ok).toBe(false);
      expect(report.events).toBe(4);
      expect(report.fault).toEqual({
        kind: 'truncated',
        position: 5,
        stream: '',
        message: `position 5: the log ends at position 4 but position 6 (event ${ids[5]}) was committed, as ${headPath(path)} witnesses: events at its end were dropped`,
      });
    } finally {
      await store.close();
    }
  });

  it('names a log whose end was rewritten with its chain redone: another event where the witness saw one', async () => {
    const { path, ids } = await writtenLog(4);
    sql(path, (db) => {
      const prev = (db.prepare('SELECT hash FROM opl_events WHERE position = 3').pluck().get() as string);
      const row = { position: 4, stream: 's-1', revision: 1, id: randomUUID(), type: 'Written', data: '{"n":99}', metadata: '{"actor":"forger","recordedAt":"2026-01-01T00:00:00.000Z"}' };
      db.prepare('DELETE FROM opl_events WHERE position = 4').run();
      db.prepare('INSERT INTO opl_events (position, id, stream, revision, type, data, metadata, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
        row.position, row.id, row.stream, row.revision, row.type, row.data, row.metadata, prev, chainHash(row, prev),
      );
    });
    const store = createSqliteEventStore(path, { refuseLostHead: false });
    try {
      const report = await verifyLog(store.audit);
      expect(report.fault).toMatchObject({ kind: 'witness-mismatch', position: 4, stream: 's-1' });
      expect(report.fault?.message).toContain(`position 4 (event ${ids[3]}) was committed, as ${headPath(path)} witnesses: the log was rewritten from there`);
    } finally {
      await store.close();
    }
  });

  it('finds a whole log whole, witness and all', async () => {
    const { path } = await writtenLog(3);
    const store = createSqliteEventStore(path, { refuseLostHead: false });
    try {
      expect(await verifyLog(store.audit)).toMatchObject({ ok: true, events: 3 });
      expect(await store.audit.witnessedHead?.()).toMatchObject({ position: 3, file: `${join(dirname(path), 'events.sqlite')}-head` });
    } finally {
      await store.close();
    }
  });
});
