import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyLog } from '../../../src/adapters/audit/verify.js';
import { openEventStore, upgradeEventLog, type StoreLocation } from '../../../src/adapters/stores/open.js';
import { StoreOpenError } from '../../../src/domain/ports/event-store.js';
import { freshSchemaUrl } from './pg-url.js';

/** A log as version 1 wrote it: the same tables without the chain columns, format 1. */
const V1_EVENTS = (json: string, big: string) => `
CREATE TABLE opl_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE opl_events (position ${big} PRIMARY KEY, id TEXT NOT NULL UNIQUE, stream TEXT NOT NULL, revision ${big} NOT NULL, type TEXT NOT NULL, data ${json} NOT NULL, metadata ${json} NOT NULL, UNIQUE (stream, revision));
CREATE TABLE opl_streams (stream TEXT PRIMARY KEY, revision ${big} NOT NULL);
CREATE TABLE opl_leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, pid INTEGER NOT NULL, host TEXT NOT NULL, expires_at ${big} NOT NULL);
INSERT INTO opl_meta (key, value) VALUES ('format', 'opledger-events-1');
`;
const rows = (skip?: number) =>
  [1, 2, 3, 4, 5]
    .filter((p) => p !== skip)
    .map((p) => [p, `e${p}`, 's', p - 1, 'T', JSON.stringify({ p, text: 'é "q"' }), JSON.stringify({ actor: 'v1', recordedAt: '2026-01-01T00:00:00.000Z' })]);

interface Case {
  name: string;
  /** Writes a format-1 log with events 1..5 (less `skip`); returns where it is. */
  make(skip?: number): Promise<StoreLocation>;
  /** The stored format and the number of rows, read behind the store's back. */
  peek(location: StoreLocation): Promise<{ format: string; events: number }>;
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const sqlite: Case = {
  name: 'SQLite',
  make: async (skip) => {
    const dir = mkdtempSync(join(tmpdir(), 'opl-upgrade-'));
    dirs.push(dir);
    const path = join(dir, 'v1.sqlite');
    const db = new Database(path);
    db.exec(V1_EVENTS('TEXT', 'INTEGER'));
    const insert = db.prepare('INSERT INTO opl_events VALUES (?, ?, ?, ?, ?, ?, ?)');
    for (const r of rows(skip)) insert.run(...r);
    db.prepare("INSERT INTO opl_streams VALUES ('s', 4)").run();
    db.close();
    return { kind: 'sqlite', path };
  },
  peek: async (location) => {
    const db = new Database((location as { path: string }).path, { readonly: true });
    const format = db.prepare("SELECT value FROM opl_meta WHERE key = 'format'").pluck().get() as string;
    const events = db.prepare('SELECT count(*) FROM opl_events').pluck().get() as number;
    db.close();
    return { format, events };
  },
};

const withClient = async <T,>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> => {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema')!;
  parsed.searchParams.delete('schema');
  const client = new pg.Client({ connectionString: parsed.toString() });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(`SET search_path TO ${schema}`);
    return await fn(client);
  } finally {
    await client.end();
  }
};

const postgres: Case = {
  name: 'PostgreSQL',
  make: async (skip) => {
    const url = freshSchemaUrl();
    await withClient(url, async (c) => {
      await c.query(V1_EVENTS('JSONB', 'BIGINT'));
      for (const r of rows(skip)) await c.query('INSERT INTO opl_events VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb)', r);
      await c.query("INSERT INTO opl_streams VALUES ('s', 4)");
    });
    return { kind: 'postgres', url };
  },
  peek: (location) =>
    withClient((location as { url: string }).url, async (c) => ({
      format: (await c.query("SELECT value FROM opl_meta WHERE key = 'format'")).rows[0].value as string,
      events: Number((await c.query('SELECT count(*) FROM opl_events')).rows[0].count),
    })),
};

describe.each([sqlite, postgres])('upgrading a $name log written before the chain', (store) => {
  it('refuses it at open naming the upgrade, then upgrades it once; it verifies and takes appends', async () => {
    const location = await store.make();
    await expect(openEventStore(location)).rejects.toThrow(/format 'opledger-events-1', without a hash chain; upgrade it once with 'opl audit upgrade'/);
    expect(await upgradeEventLog(location)).toEqual({ events: 5, from: 'opledger-events-1', to: 'opledger-events-2' });
    await expect(upgradeEventLog(location)).rejects.toThrow(/already in format 'opledger-events-2': it was upgraded before, nothing done/);
    const opened = await openEventStore(location);
    try {
      expect(await verifyLog(opened.audit)).toMatchObject({ ok: true, events: 5 });
      await opened.append('s', [{ id: 'e6', type: 'T', data: { p: 6 }, metadata: { actor: 'v2', recordedAt: '2026-01-02T00:00:00.000Z' } }], 4n);
      expect(await verifyLog(opened.audit)).toMatchObject({ ok: true, events: 6 });
    } finally {
      await opened.close();
    }
  }, 30_000);

  it('refuses a log with a position gap and changes nothing', async () => {
    const location = await store.make(3);
    const upgrade = upgradeEventLog(location);
    await expect(upgrade).rejects.toBeInstanceOf(StoreOpenError);
    await expect(upgrade).rejects.toThrow(/position 3 is missing from the log \(found 4 next\); it was altered before the upgrade, nothing done/);
    expect(await store.peek(location)).toEqual({ format: 'opledger-events-1', events: 4 });
  }, 30_000);
});

describe('upgrading what is not an SQLite log', () => {
  it('names the file in one line and leaves it as it was', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opl-upgrade-'));
    dirs.push(dir);
    const path = join(dir, 'opledger.sqlite');
    writeFileSync(path, 'not a database\n');
    const refused = await upgradeEventLog({ kind: 'sqlite', path }).then(() => undefined, (error: unknown) => error);
    expect(refused).toBeInstanceOf(StoreOpenError);
    expect((refused as Error).message).toBe(`cannot upgrade SQLite store '${path}': the file is not an SQLite database; nothing done`);
    expect(readFileSync(path, 'utf8')).toBe('not a database\n');
  });
});
