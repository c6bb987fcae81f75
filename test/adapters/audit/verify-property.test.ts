import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyLog } from '../../../src/adapters/audit/verify.js';
import { createSqliteEventStore } from '../../../src/adapters/stores/sqlite.js';

/**
 * Random damage to a copy of a real SQLite log: one changed character or number in any
 * column of any event, a deleted, duplicated or moved event, two events swapped. The
 * copy's table has no UNIQUE constraints (whoever edits a copy can drop them), so
 * duplicates are possible. Every damage must be found, and named where it is: at the
 * damaged event, or where the damage first shows (the event after a dropped one). Each
 * copy is verified in one piece and in parallel ranges, with the same report.
 */
const EVENTS = 40;
/** What `audit verify` walks an intact log in, given the parallel path: one range per thread. */
const THREADS = Math.min(4, availableParallelism());
let dir: string;
let original: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'opl-verify-prop-'));
  original = join(dir, 'original.sqlite');
  const store = createSqliteEventStore(original);
  for (let i = 0; i < EVENTS; ) {
    const batch = 1 + (i % 3);
    await store.append(`s-${i % 4}`, Array.from({ length: batch }, (_, j) => ({
      id: randomUUID(),
      type: j % 2 ? 'Changed' : 'Made',
      data: { i, j, name: `thing-${i}-${j}`, note: 'é ✓ "quoted"', list: [i, j, null] },
      metadata: { actor: 'prop', recordedAt: new Date(1_700_000_000_000 + i * 1000).toISOString() },
    })), 'any');
    i += batch;
  }
  await store.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Damage =
  | { kind: 'none' }
  | { kind: 'text'; row: number; column: 'stream' | 'id' | 'type' | 'data' | 'metadata' | 'prev_hash' | 'hash'; offset: number; char: string }
  | { kind: 'revision'; row: number; delta: number }
  | { kind: 'move'; row: number; to: number }
  | { kind: 'delete'; row: number }
  | { kind: 'duplicate'; row: number }
  | { kind: 'swap'; row: number; other: number };

const row = fc.integer({ min: 1, max: EVENTS });
const damage: fc.Arbitrary<Damage> = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc.record({
    kind: fc.constant('text' as const),
    row,
    column: fc.constantFrom('stream', 'id', 'type', 'data', 'metadata', 'prev_hash', 'hash'),
    offset: fc.nat(),
    char: fc.string({ minLength: 1, maxLength: 1, unit: 'grapheme-ascii' }),
  }),
  fc.record({ kind: fc.constant('revision' as const), row, delta: fc.integer({ min: -3, max: 3 }).filter((d) => d !== 0) }),
  fc.record({ kind: fc.constant('move' as const), row, to: fc.oneof(fc.integer({ min: -5, max: 0 }), fc.integer({ min: EVENTS + 1, max: EVENTS + 5 })) }),
  fc.record({ kind: fc.constant('delete' as const), row }),
  fc.record({ kind: fc.constant('duplicate' as const), row }),
  fc.record({ kind: fc.constant('swap' as const), row, other: row }).filter((d) => d.row !== d.other),
);

/** Applies the damage; returns where verify must name it, or null when nothing changed. */
const apply = (db: Database.Database, d: Damage): { position: number; kinds: string[] } | null => {
  switch (d.kind) {
    case 'none':
      return null;
    case 'text': {
      const value = db.prepare(`SELECT ${d.column} FROM opl_events WHERE position = ?`).pluck().get(d.row) as string;
      const at = d.offset % value.length;
      if (value[at] === d.char) return null;
      db.prepare(`UPDATE opl_events SET ${d.column} = ? WHERE position = ?`).run(value.slice(0, at) + d.char + value.slice(at + 1), d.row);
      return { position: d.row, kinds: ['hash-mismatch'] };
    }
    case 'revision':
      db.prepare('UPDATE opl_events SET revision = revision + ? WHERE position = ?').run(d.delta, d.row);
      return { position: d.row, kinds: ['hash-mismatch'] };
    case 'move':
      db.prepare('UPDATE opl_events SET position = ? WHERE position = ?').run(d.to, d.row);
      if (d.to < 1) return { position: d.to, kinds: ['unexpected-position'] };
      return { position: d.row < EVENTS ? d.row + 1 : d.to, kinds: ['position-gap'] };
    case 'delete':
      db.prepare('DELETE FROM opl_events WHERE position = ?').run(d.row);
      return d.row < EVENTS ? { position: d.row + 1, kinds: ['position-gap'] } : { position: d.row, kinds: ['truncated'] };
    case 'duplicate':
      // Make room after it, then write the exact copy there.
      db.prepare('UPDATE opl_events SET position = -position - 1 WHERE position > ?').run(d.row);
      db.prepare('UPDATE opl_events SET position = -position WHERE position < 0').run();
      db.prepare('INSERT INTO opl_events SELECT position + 1, id, stream, revision, type, data, metadata, prev_hash, hash FROM opl_events WHERE position = ?').run(d.row);
      return { position: d.row + 1, kinds: ['hash-mismatch'] };
    case 'swap': {
      const [a, b] = [Math.min(d.row, d.other), Math.max(d.row, d.other)];
      db.prepare('UPDATE opl_events SET position = -1 WHERE position = ?').run(a);
      db.prepare('UPDATE opl_events SET position = ? WHERE position = ?').run(a, b);
      db.prepare('UPDATE opl_events SET position = ? WHERE position = -1').run(b);
      return { position: a, kinds: ['hash-mismatch'] };
    }
  }
};

const LOOSE_TABLE = `
ALTER TABLE opl_events RENAME TO opl_events_old;
CREATE TABLE opl_events (position INTEGER PRIMARY KEY, id TEXT, stream TEXT, revision INTEGER, type TEXT, data TEXT, metadata TEXT, prev_hash TEXT, hash TEXT);
INSERT INTO opl_events SELECT position, id, stream, revision, type, data, metadata, prev_hash, hash FROM opl_events_old;
DROP TABLE opl_events_old;
`;

describe('audit verify under random damage to a copied log', () => {
  it('finds every damage and names where it is; an undamaged copy verifies', async () => {
    let run = 0;
    let damaged = 0;
    await fc.assert(
      fc.asyncProperty(damage, async (d) => {
        const copy = join(dir, `copy-${run++}.sqlite`);
        copyFileSync(original, copy);
        const db = new Database(copy);
        db.exec(LOOSE_TABLE);
        const expected = apply(db, d);
        db.close();
        const store = createSqliteEventStore(copy);
        try {
          const report = await verifyLog(store.audit, { parallelFromEvents: Infinity });
          // Walked in ranges at once, the same log gets the same report: whole ranges
          // stitched, or, where anything is off, the one-piece walk's own.
          const { ranges, ...inRanges } = await verifyLog(store.audit, { parallelFromEvents: 1 });
          expect({ ...inRanges, ranges: 1 }).toEqual(report);
          if (expected === null) {
            expect(report).toMatchObject({ ok: true, events: EVENTS, ranges: 1 });
            expect(ranges).toBe(THREADS);
            return;
          }
          damaged++;
          expect(report.ok).toBe(false);
          expect({ position: report.fault?.position, kind: report.fault?.kind }).toEqual({ position: expected.position, kind: expect.toBeOneOf(expected.kinds) });
        } finally {
          await store.close();
          rmSync(copy, { force: true });
        }
      }),
      { numRuns: 300 },
    );
    expect(damaged).toBeGreaterThan(200);
  }, 120_000);
});
