import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { verifyLog } from '../src/adapters/audit/verify.js';
import { sha256Hex } from '../src/domain/log-chain.js';
import { createSqliteEventStore } from '../src/adapters/stores/sqlite.js';
import type { EventStore, NewEvent } from '../src/domain/ports/event-store.js';
import { figure, seconds, type Figure } from './measure.js';

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

const appendAll = async (store: EventStore, events: NewEvent[]) => {
  const revisions = new Map<string, bigint>();
  for (let i = 0; i < events.length; i++) {
    const stream = `s-${i % 100}`;
    const result = await store.append(stream, [events[i]!], revisions.get(stream) ?? 'no_stream');
    revisions.set(stream, result.nextRevision);
  }
};

/**
 * The append bench's workload through the store port twice over, into fresh files:
 * with the chain (what every store writes) and without it (the adapter's bench-only
 * switch: no head read, no hash), alternating, best of three each.
 */
export const benchAppendChainSqlite = async (appends: number, sampleEvent: (i: number) => NewEvent): Promise<Figure> => {
  const dir = tempDir();
  let chained = Infinity;
  let unchained = Infinity;
  for (let round = 0; round < 3; round++) {
    for (const chain of [false, true]) {
      const events = Array.from({ length: appends }, (_, i) => sampleEvent(i));
      const store = createSqliteEventStore(join(dir, `${chain ? 'chained' : 'unchained'}-${round}.sqlite`), { unchainedForBench: !chain });
      const took = await seconds(() => appendAll(store, events));
      await store.close();
      if (chain) chained = Math.min(chained, took);
      else unchained = Math.min(unchained, took);
    }
  }
  rmSync(dir, { recursive: true, force: true });
  return figure({ bench: 'append-chain', store: 'sqlite', value: appends / chained, unit: 'appends/s', reference: appends / unchained, referenceWhat: 'the same appends through the same store without the chain (no head read, no SHA-256)', events: appends, target: 'ratio >= 0.9' });
};
