import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import pg from 'pg';
import { createFakeHypervisor } from '../src/adapters/hypervisors/fake.js';
import { createPostgresEventStore } from '../src/adapters/stores/postgres.js';
import { SQLITE_PRAGMAS, createSqliteEventStore } from '../src/adapters/stores/sqlite.js';
import { Opcode } from '../src/domain/opcodes.js';
import type { EventStore, NewEvent } from '../src/domain/ports/event-store.js';
import { createControlPlane } from '../src/engine/control-plane.js';
import { replayUntil } from '../src/projections/projector.js';
import { figure, percentile, seconds, type Figure } from './measure.js';
import { benchSaga } from './saga.js';
import { benchNodedRpc } from './noded-rpc.js';
import { benchNetnsSaga, netnsMigrationsInside } from './netns-saga.js';
import { benchNetnsVerify } from './netns-verify.js';
import { benchKvmMigrate } from './kvm-migrate.js';
import { chainedRows, storedRows } from './workload.js';
import { benchAppendChainSqlite, benchVerifySqlite } from './audit.js';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const APPENDS = env('BENCH_APPENDS', 20_000);
const REPLAY_EVENTS = env('BENCH_REPLAY_EVENTS', 1_000_000);
const JOBS = env('BENCH_JOBS', 5_000);
const PG_URL = process.env.OPL_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const stores = (process.env.BENCH_STORES ?? 'sqlite,postgres').split(',');

const print = (f: Figure) => process.stdout.write(`${JSON.stringify(f)}\n`);
const tempDir = () => mkdtempSync(join(tmpdir(), 'opl-bench-'));
const pgSchemaUrl = () => {
  const url = new URL(PG_URL);
  url.searchParams.set('schema', `opl_bench_${randomUUID().slice(0, 8)}`);
  return url;
};
const dropSchema = async (url: URL) => {
  const schema = url.searchParams.get('schema')!;
  url.searchParams.delete('schema');
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
};

const sampleEvent = (i: number): NewEvent => ({
  id: randomUUID(),
  type: 'InstanceModified',
  data: { instanceUuid: `inst-${i % 1000}`, tags: [`t${i}`] },
  metadata: { actor: 'bench@host', recordedAt: new Date().toISOString(), jobId: i, opIndex: 0, engineId: 'bench' },
});

// ---------------------------------------------------------------- append

/** Ours: one event per append, with the expected-revision and idempotency checks. */
const appendThroughStore = async (store: EventStore, events: NewEvent[]) => {
  const revisions = new Map<string, bigint>();
  for (let i = 0; i < events.length; i++) {
    const stream = `s-${i % 100}`;
    const expected = revisions.get(stream) ?? 'no_stream';
    const result = await store.append(stream, [events[i]!], expected);
    revisions.set(stream, result.nextRevision);
  }
};

const benchAppendSqlite = async (): Promise<Figure> => {
  const events = Array.from({ length: APPENDS }, (_, i) => sampleEvent(i));
  const dir = tempDir();
  const store = createSqliteEventStore(join(dir, 'ours.sqlite'));
  const ours = await seconds(() => appendThroughStore(store, events));
  await store.close();
  // Reference: the same rows into the same table shape, one transaction per row, same pragmas.
  const raw = new Database(join(dir, 'raw.sqlite'));
  for (const p of SQLITE_PRAGMAS) raw.pragma(p);
  raw.exec('CREATE TABLE e (position INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, stream TEXT NOT NULL, revision INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL, metadata TEXT NOT NULL, UNIQUE (stream, revision))');
  const insert = raw.prepare('INSERT INTO e (id, stream, revision, type, data, metadata) VALUES (?, ?, ?, ?, ?, ?)');
  const one = raw.transaction((e: NewEvent, i: number) =>
    insert.run(e.id, `s-${i % 100}`, Math.floor(i / 100), e.type, JSON.stringify(e.data), JSON.stringify(e.metadata)),
  );
  const reference = await seconds(() => events.forEach((e, i) => one.immediate(e, i)));
  raw.close();
  rmSync(dir, { recursive: true, force: true });
  return figure({ bench: 'append', store: 'sqlite', value: APPENDS / ours, unit: 'appends/s', reference: APPENDS / reference, referenceWhat: 'raw better-sqlite3: one INSERT per transaction, same table, same pragmas', events: APPENDS });
};

const benchAppendPostgres = async (): Promise<Figure> => {
  const events = Array.from({ length: Math.min(APPENDS, 5000) }, (_, i) => sampleEvent(i));
  const url = pgSchemaUrl();
  const store = await createPostgresEventStore(url.toString());
  const ours = await seconds(() => appendThroughStore(store, events));
  await store.close();
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  const schema = url.searchParams.get('schema')!;
  await client.query(`CREATE TABLE ${schema}.raw_e (position BIGSERIAL PRIMARY KEY, id TEXT NOT NULL UNIQUE, stream TEXT NOT NULL, revision BIGINT NOT NULL, type TEXT NOT NULL, data JSONB NOT NULL, metadata JSONB NOT NULL, UNIQUE (stream, revision))`);
  const reference = await seconds(async () => {
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      await client.query(`INSERT INTO ${schema}.raw_e (id, stream, revision, type, data, metadata) VALUES ($1, $2, $3, $4, $5, $6)`, [e.id, `s-${i % 100}`, Math.floor(i / 100), e.type, JSON.stringify(e.data), JSON.stringify(e.metadata)]);
    }
  });
  await client.end();
  await dropSchema(url);
  return figure({ bench: 'append', store: 'postgres', value: events.length / ours, unit: 'appends/s', reference: events.length / reference, referenceWhat: 'raw pg: one INSERT per (autocommit) transaction, same table', events: events.length });
};

// ---------------------------------------------------------------- replay

export const loadSqlite = (path: string): number => {
  createSqliteEventStore(path).close();
  const db = new Database(path);
  for (const p of SQLITE_PRAGMAS) db.pragma(p);
  const insert = db.prepare('INSERT INTO opl_events (position, id, stream, revision, type, data, metadata, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const streams = db.prepare('INSERT INTO opl_streams (stream, revision) VALUES (?, ?) ON CONFLICT (stream) DO UPDATE SET revision = excluded.revision');
  let count = 0;
  const heads = new Map<string, number>();
  db.transaction(() => {
    for (const r of chainedRows(REPLAY_EVENTS)) {
      insert.run(r.position, r.id, r.stream, r.revision, r.type, r.data, r.metadata, r.prevHash, r.hash);
      heads.set(r.stream, r.revision);
      count++;
    }
    for (const [s, rev] of heads) streams.run(s, rev);
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  return count;
};

const benchReplaySqlite = async (): Promise<Figure> => {
  const dir = tempDir();
  const path = join(dir, 'replay.sqlite');
  const count = loadSqlite(path);
  if (process.env.BENCH_KEEP_REPLAY_DB) process.stderr.write(`replay database kept: ${path}\n`);
  const raw = new Database(path, { readonly: true });
  let checksum = 0;
  const readRaw = () => {
    checksum = 0;
    const page = raw.prepare('SELECT position, id, stream, revision, type, data, metadata FROM opl_events WHERE position >= ? ORDER BY position LIMIT 2000').raw();
    for (let next = 1; ; ) {
      const rows = page.all(next) as [number, string, string, number, string, string, string][];
      for (const r of rows) {
        const data = JSON.parse(r[5]);
        const metadata = JSON.parse(r[6]);
        if (data && metadata) checksum++;
      }
      if (rows.length < 2000) break;
      next = rows[rows.length - 1]![0] + 1;
    }
  };
  const store = createSqliteEventStore(path);
  let instances = 0;
  const replayOurs = async () => {
    instances = (await replayUntil(store)).cluster.instances.size;
  };
  // Alternate, best of two each: both sides see the same page cache and machine noise.
  let reference = Infinity;
  let ours = Infinity;
  for (let round = 0; round < 2; round++) {
    reference = Math.min(reference, await seconds(readRaw));
    ours = Math.min(ours, await seconds(replayOurs));
  }
  raw.close();
  await store.close();
  if (!process.env.BENCH_KEEP_REPLAY_DB) rmSync(dir, { recursive: true, force: true });
  if (checksum !== count) throw new Error('reference replay read the wrong number of rows');
  return figure({ bench: 'replay', store: 'sqlite', value: count / ours, unit: 'events/s', reference: count / reference, referenceWhat: 'raw better-sqlite3: read the same rows in the same pages and JSON.parse data and metadata', events: count, instances, seconds: ours });
};

const benchReplayPostgres = async (): Promise<Figure> => {
  const total = Math.min(REPLAY_EVENTS, env('BENCH_PG_REPLAY_EVENTS', REPLAY_EVENTS));
  const url = pgSchemaUrl();
  await (await createPostgresEventStore(url.toString())).close();
  const schema = url.searchParams.get('schema')!;
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  let count = 0;
  let batch: string[][] = [];
  const flush = async () => {
    if (!batch.length) return;
    const values = batch.flatMap((r) => r);
    // No chain links: the replay does not read them (the verify bench runs on SQLite).
    const tuples = batch.map((_, i) => `($${i * 7 + 1}, $${i * 7 + 2}, $${i * 7 + 3}, $${i * 7 + 4}, $${i * 7 + 5}, $${i * 7 + 6}, $${i * 7 + 7}, '', '')`).join(',');
    await client.query(`INSERT INTO ${schema}.opl_events (position, id, stream, revision, type, data, metadata, prev_hash, hash) VALUES ${tuples}`, values);
    batch = [];
  };
  await client.query('BEGIN');
  for (const r of storedRows(total)) {
    batch.push([String(r.position), r.id, r.stream, String(r.revision), r.type, r.data, r.metadata]);
    count++;
    if (batch.length === 1000) await flush();
  }
  await flush();
  await client.query('COMMIT');
  let checksum = 0;
  const reference = await seconds(async () => {
    for (let next = 1; ; ) {
      const { rows } = await client.query<{ position: string; data: unknown; metadata: unknown }>(`SELECT position, id, stream, revision, type, data, metadata FROM ${schema}.opl_events WHERE position >= $1 ORDER BY position LIMIT 2000`, [next]);
      checksum += rows.length;
      if (rows.length < 2000) break;
      next = Number(rows[rows.length - 1]!.position) + 1;
    }
  });
  await client.end();
  const store = await createPostgresEventStore(url.toString());
  let instances = 0;
  const ours = await seconds(async () => {
    instances = (await replayUntil(store)).cluster.instances.size;
  });
  await store.close();
  await dropSchema(url);
  if (checksum !== count) throw new Error('reference replay read the wrong number of rows');
  return figure({ bench: 'replay', store: 'postgres', value: count / ours, unit: 'events/s', reference: count / reference, referenceWhat: 'raw pg: read the same rows in the same pages (pg parses the JSONB)', events: count, instances });
};

// ---------------------------------------------------------------- jobs

const benchJobs = async (storeName: 'sqlite' | 'postgres'): Promise<Figure> => {
  const dir = tempDir();
  const url = pgSchemaUrl();
  const store = storeName === 'sqlite' ? createSqliteEventStore(join(dir, 'jobs.sqlite')) : await createPostgresEventStore(url.toString(), { poolSize: 8 });
  const plane = createControlPlane({ store, hypervisor: createFakeHypervisor(join(dir, 'nodes')), actor: 'bench' });
  const clients = 8;
  const setup = await plane.submit([
    Opcode.parse({ type: 'OP_CLUSTER_INIT', clusterName: 'b' }),
    Opcode.parse({ type: 'OP_GROUP_ADD', groupName: 'g' }),
    Opcode.parse({ type: 'OP_NODE_ADD', nodeName: 'n', groupName: 'g', memoryMib: 1 << 20, cpus: 64 }),
    ...Array.from({ length: clients }, (_, c) => Opcode.parse({ type: 'OP_INSTANCE_CREATE', instanceName: `i${c}`, diskTemplate: 'diskless', memoryMib: 64, vcpus: 1, primaryNode: 'n', start: false })),
  ]);
  if ((await plane.awaitJob(setup)).status !== 'success') throw new Error('jobs bench: setup job failed');
  const total = storeName === 'sqlite' ? JOBS : Math.min(JOBS, 2000);
  const latencies: number[] = [];
  let next = 0;
  const elapsed = await seconds(() =>
    Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        while (next < total) {
          next++;
          const start = performance.now();
          const id = await plane.submit([{ type: 'OP_INSTANCE_SET_PARAMS', instanceName: `i${c}`, tags: [`t${next}`] }]);
          const job = await plane.awaitJob(id);
          if (job.status !== 'success') throw new Error(`jobs bench: job ${id} ended ${job.status}`);
          latencies.push(performance.now() - start);
        }
      }),
    ).then(() => undefined),
  );
  await plane.close();
  rmSync(dir, { recursive: true, force: true });
  if (storeName === 'postgres') await dropSchema(url);
  latencies.sort((a, b) => a - b);
  return figure({ bench: 'jobs', store: storeName, value: latencies.length / elapsed, unit: 'jobs/s', reference: null, clients, jobs: latencies.length, p50Ms: Math.round(percentile(latencies, 50) * 100) / 100, p99Ms: Math.round(percentile(latencies, 99) * 100) / 100 });
};

// ---------------------------------------------------------------- main

// The engine's side of the saga-netns bench, run by it inside the engine's namespace.
if (process.env.BENCH_NETNS_SAGA_DATA_DIR) {
  await netnsMigrationsInside(process.env.BENCH_NETNS_SAGA_DATA_DIR);
  process.exit(0);
}
const only = (process.env.BENCH_ONLY ?? 'append,append-chain,replay,verify,jobs,saga,saga-netns,rpc,cluster-verify,kvm-migrate').split(',');
const plan: [string, string, () => Promise<Figure | Figure[]>][] = [
  ['append', 'sqlite', benchAppendSqlite],
  ['append-chain', 'sqlite', () => benchAppendChainSqlite(APPENDS, sampleEvent)],
  ['replay', 'sqlite', benchReplaySqlite],
  ['verify', 'sqlite', () => benchVerifySqlite(REPLAY_EVENTS, loadSqlite)],
  ['jobs', 'sqlite', () => benchJobs('sqlite')],
  ['append', 'postgres', benchAppendPostgres],
  ['replay', 'postgres', benchReplayPostgres],
  ['jobs', 'postgres', () => benchJobs('postgres')],
  ['saga', 'sqlite', benchSaga],
  ['rpc', '', benchNodedRpc],
  ['saga-netns', 'sqlite', benchNetnsSaga],
  ['cluster-verify', '', benchNetnsVerify],
  ['kvm-migrate', '', benchKvmMigrate],
];
for (const [bench, store, run] of plan) {
  if (!only.includes(bench) || (store !== '' && !stores.includes(store))) continue;
  const figures = await run();
  for (const f of Array.isArray(figures) ? figures : [figures]) print(f);
}
