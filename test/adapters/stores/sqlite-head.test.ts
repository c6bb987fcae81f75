import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { headPath } from '../../../src/adapters/stores/sqlite-head.js';
import { createSqliteEventStore } from '../../../src/adapters/stores/sqlite.js';
import { StoreOpenError, type EventStore } from '../../../src/domain/ports/event-store.js';

const tempFile = () => join(mkdtempSync(join(tmpdir(), 'opl-head-')), 'events.sqlite');
const event = (n: number) => ({ id: randomUUID(), type: 'Written', data: { n }, metadata: { actor: 't', recordedAt: new Date().toISOString() } });
const appendMany = async (store: EventStore, n: number) => {
  for (let i = 0; i < n; i++) await store.append('s', [event(i)], 'any');
};

/** Byte offsets just after each commit frame of a write-ahead log (SQLite's file format). */
const commitEnds = (wal: Buffer): number[] => {
  const frame = 24 + wal.readUInt32BE(8);
  const ends: number[] = [];
  for (let at = 32; at + frame <= wal.length; at += frame) if (wal.readUInt32BE(at + 4) !== 0) ends.push(at + frame);
  return ends;
};

/** Copies a store whose log is still in its -wal (a connection holds it open), with the WAL cut to BYTES. */
const copyWithWal = (path: string, bytes: (wal: Buffer) => number): string => {
  const copy = tempFile();
  const wal = readFileSync(`${path}-wal`);
  for (const suffix of ['', '-wal', '-head']) copyFileSync(`${path}${suffix}`, `${copy}${suffix}`);
  truncateSync(`${copy}-wal`, bytes(wal));
  return copy;
};

describe('sqlite store: the head record beside it', () => {
  it('records the last committed position and event id by the next turn of the event loop, and at close', async () => {
    const path = tempFile();
    const store = createSqliteEventStore(path);
    await appendMany(store, 3);
    const last = event(3);
    await store.append('s', [last], 'any');
    await new Promise((turn) => setImmediate(turn));
    expect(readFileSync(headPath(path), 'utf8')).toMatch(new RegExp(`^opl-head 1 4 ${last.id} +\\n$`));
    const fifth = event(4);
    await store.append('s', [fifth], 'any');
    await store.close();
    expect(readFileSync(headPath(path), 'utf8')).toMatch(new RegExp(`^opl-head 1 5 ${fifth.id} +\\n$`));
    await store.close();
    await createSqliteEventStore(path).close(); // a whole log opens
  });

  it('refuses a log whose write-ahead log was cut at a frame boundary, and serves the whole copy', async () => {
    const path = tempFile();
    const writer = createSqliteEventStore(path);
    const holder = new Database(path);
    holder.prepare('SELECT 1 FROM opl_events').all(); // keeps the log in the -wal when the writer closes
    try {
      await appendMany(writer, 20);
      await writer.close();
      const whole = copyWithWal(path, (wal) => wal.length);
      const store = createSqliteEventStore(whole);
      expect((await store.readAllPages(1n)[Symbol.asyncIterator]().next()).value).toHaveLength(20);
      await store.close();
      const cut = copyWithWal(path, (wal) => commitEnds(wal).at(-6)!);
      expect(() => createSqliteEventStore(cut)).toThrow(StoreOpenError);
      expect(() => createSqliteEventStore(cut)).toThrow(
        new RegExp(`^the log at ${cut} ends at position 1[0-9] but position 20 \\(event [0-9a-f-]{36}\\) was committed: its write-ahead log was truncated or damaged, or events were deleted \\('opl audit verify' names what was lost\\); restore it from a backup \\(or, to accept the loss, remove ${cut}-head\\)$`),
      );
    } finally {
      holder.close();
    }
  });

  it('refuses a log that holds another event at the recorded position (a log put back from elsewhere)', async () => {
    const path = tempFile();
    const store = createSqliteEventStore(path);
    await appendMany(store, 2);
    await store.close();
    writeFileSync(headPath(path), `opl-head 1 2 ${randomUUID()}`.padEnd(95) + '\n');
    expect(() => createSqliteEventStore(path)).toThrow(/holds another event \([0-9a-f-]{36}\) at position 2 but position 2 \(event .*\) was committed/);
  });

  it('a stale, lower head from a slower writer in another process never refuses a whole log', async () => {
    const path = tempFile();
    const a = createSqliteEventStore(path);
    const b = createSqliteEventStore(path);
    await appendMany(a, 5);
    await appendMany(b, 1); // b writes position 6: the head says 6
    await a.append('s', [event(9)], 'any'); // a writes 7
    // b's view of the head is older: it rewrites nothing lower, but another process may.
    const first = (await a.readAllPages(1n)[Symbol.asyncIterator]().next()).value![0]!;
    writeFileSync(headPath(path), `opl-head 1 1 ${first.id}`.padEnd(95) + '\n');
    await a.close();
    await b.close();
    await createSqliteEventStore(path).close();
  });

  it('refuses a damaged head record with one line, and ignores an empty one', async () => {
    const path = tempFile();
    await (async () => {
      const store = createSqliteEventStore(path);
      await appendMany(store, 1);
      await store.close();
    })();
    writeFileSync(headPath(path), '');
    await createSqliteEventStore(path).close();
    writeFileSync(headPath(path), 'garbage\n');
    expect(() => createSqliteEventStore(path)).toThrow(`${headPath(path)} is not an opledger head record (it should read 'opl-head 1 POSITION ID'); remove it if the log is known to be whole`);
  });
});
