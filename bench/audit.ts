import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { verifyLog } from '../src/adapters/audit/verify.js';
import { sha256Hex } from '../src/domain/log-chain.js';
import { createSqliteEventStore } from '../src/adapters/stores/sqlite.js';
import type { NewEvent } from '../src/domain/ports/event-store.js';
import { figure, seconds, type Figure } from './measure.js';
import { openPreChainAppender } from './append-before.js';

const tempDir = () => mkdtempSync(join(tmpdir(), 'opl-bench-audit-'));

/**
 * `audit verify` over the replay bench's log (1,000,000 events by default), against the
 * raw floor: better-sqlite3 reading the same rows in the same pages and one SHA-256 of
 * each row's text, nothing compared. Best of three alternating runs each: on a shared
 * machine single runs of either side vary by half.
 */
export const benchVerifySqlite = async (total: number, load: (path: string) => number): Promise<Figure> => {
  const dir = tempDir();
  const path = join(dir, 'verify.sqlite');
  const count = load(path);
  const raw = new Database(path, { readonly: true });
  const page = raw.prepare('SELECT position, stream, revision, id, type, data, metadata, prev_hash, hash FROM opl_events WHERE position > ? ORDER BY position LIMIT 10000').raw();
  let hashed = 0;
  const readRaw = () => {
    hashed = 0;
    for (let after = Number.MIN_SAFE_INTEGER; ; ) {
      const rows = page.all(after) as [number, string, number, string, string, string, string, string, string][];
      for (const r of rows) {
        // The same SHA-256 primitive the chain uses, over the same text.
        sha256Hex(`${r[0]}\0${r[1]}\0${r[2]}\0${r[3]}\0${r[4]}\0${r[5]}\0${r[6]}\0${r[7]}`);
        hashed++;
      }
      if (rows.length < 10000) break;
      after = rows[rows.length - 1]![0];
    }
  };
  const store = createSqliteEventStore(path);
  let verified = 0;
  const verifyOurs = async () => {
    const report = await verifyLog(store.audit);
    if (!report.ok) throw new Error(`verify bench: the log does not verify: ${report.fault?.message}`);
    verified = report.events;
  };
  let reference = Infinity;
  let ours = Infinity;
  for (let round = 0; round < 3; round++) {
    reference = Math.min(reference, await seconds(readRaw));
    ours = Math.min(ours, await seconds(verifyOurs));
  }
  raw.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  if (hashed !== count || verified !== count) throw new Error(`verify bench: ${count} rows loaded, ${hashed} hashed raw, ${verified} verified`);
  return figure({ bench: 'verify', store: 'sqlite', value: count / ours, unit: 'events/s', reference: count / reference, referenceWhat: 'raw better-sqlite3: read the same rows in the same 10,000-row pages and SHA-256 each row', events: count, seconds: ours, target: 200_000 });
};

/**
 * Append throughput before and after the chain, in one run: today's store through its
 * port, and the append it replaced (`append-before.ts`, commit 9fd28f1's code), into two
 * fresh files side by side. The two run interleaved, 500 appends at a time, in
 * alternating order, and each side's time is summed: on a shared machine the load
 * drifts within seconds, and fine interleaving puts both sides under the same drift.
 */
export const benchAppendChainSqlite = async (appends: number, sampleEvent: (i: number) => NewEvent): Promise<Figure> => {
  const dir = tempDir();
  const after = createSqliteEventStore(join(dir, 'after.sqlite'));
  const before = openPreChainAppender(join(dir, 'before.sqlite'));
  const sides = [after, before].map((store) => ({ store, events: Array.from({ length: appends }, (_, i) => sampleEvent(i)), revisions: new Map<string, bigint>(), seconds: 0 }));
  // Both sides' code warmed up (compiled) before anything is timed: the first hundreds of
  // appends otherwise time the compiler, and the side with more code pays more of it.
  for (const side of sides) {
    let revision: bigint | 'no_stream' = 'no_stream';
    for (let i = 0; i < 1_000; i++) revision = (await side.store.append('warm-up', [sampleEvent(i)], revision)).nextRevision;
  }
  const CHUNK = 500;
  for (let from = 0, turn = 0; from < appends; from += CHUNK, turn++) {
    for (const side of turn % 2 === 0 ? sides : [...sides].reverse()) {
      side.seconds += await seconds(async () => {
        for (let i = from; i < Math.min(appends, from + CHUNK); i++) {
          const stream = `s-${i % 100}`;
          const result = await side.store.append(stream, [side.events[i]!], side.revisions.get(stream) ?? 'no_stream');
          side.revisions.set(stream, result.nextRevision);
        }
      });
    }
  }
  await after.close();
  before.close();
  rmSync(dir, { recursive: true, force: true });
  const [afterSeconds, beforeSeconds] = sides.map((side) => side.seconds);
  return figure({ bench: 'append-chain', store: 'sqlite', value: appends / afterSeconds!, unit: 'appends/s', reference: appends / beforeSeconds!, referenceWhat: "the append before the chain and the fencing token (9fd28f1's code, bench/append-before.ts), same workload, interleaved 500 at a time", events: appends, target: 'ratio >= 0.9' });
};
