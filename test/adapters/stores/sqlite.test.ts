import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createSqliteEventStore } from '../../../src/adapters/stores/sqlite.js';
import { FencedError, StoreOpenError } from '../../../src/domain/ports/event-store.js';
import { describeEventStoreContract, newEvent } from './event-store.contract.js';
import { describeChainContract } from './event-store-chain.contract.js';

const tempFile = () => join(mkdtempSync(join(tmpdir(), 'opl-sqlite-')), 'events.sqlite');

describeEventStoreContract('sqlite', async () => {
  const path = tempFile();
  return { open: async () => createSqliteEventStore(path), url: `sqlite:${path}` };
}, { crossProcess: true });

describeChainContract('sqlite', async () => {
  const path = tempFile();
  return { open: async () => createSqliteEventStore(path), url: `sqlite:${path}` };
}, { sharedOpen: true });

describe('sqlite store: foreign and corrupt files', () => {
  it('refuses a file that is not a database with a clear error', () => {
    const path = tempFile();
    writeFileSync(path, 'this is a text file, not a database\n'.repeat(200));
    expect(() => createSqliteEventStore(path)).toThrow(StoreOpenError);
    expect(() => createSqliteEventStore(path)).toThrow(/not an SQLite database/);
  });

  it('refuses an SQLite database that belongs to someone else, without touching it', () => {
    const path = tempFile();
    const foreign = new Database(path);
    foreign.exec('CREATE TABLE invoices (id INTEGER PRIMARY KEY)');
    foreign.close();
    expect(() => createSqliteEventStore(path)).toThrow(/not an opledger store \(it holds tables invoices\)/);
    const reopened = new Database(path);
    const tables = reopened.prepare("SELECT name FROM sqlite_master WHERE type='table'").pluck().all();
    reopened.close();
    expect(tables).toEqual(['invoices']);
  });
});

describe('sqlite store: stores made before leases had a fencing token', () => {
  it('gets the epoch column at open, keeping its events and leases; opening again changes nothing', async () => {
    const path = tempFile();
    const old = createSqliteEventStore(path);
    await old.append('s', [newEvent('A'), newEvent('B')], 'no_stream');
    await old.leases.tryAcquire('leader', { holder: 'a', pid: 1, host: 'h', expiresAt: Date.now() + 60_000 }, () => false);
    await old.close();
    const raw = new Database(path);
    raw.exec('ALTER TABLE opl_leases DROP COLUMN epoch');
    const events = raw.prepare('SELECT * FROM opl_events ORDER BY position').all();
    raw.close();
    for (let i = 0; i < 2; i++) {
      const store = createSqliteEventStore(path);
      try {
        expect(await store.leases.current('leader')).toMatchObject({ holder: 'a', epoch: 0n });
      } finally {
        await store.close();
      }
    }
    const store = createSqliteEventStore(path);
    try {
      expect(await store.leases.tryAcquire('leader', { holder: 'b', pid: 1, host: 'h', expiresAt: 0 }, () => true)).toBe(1n);
      await expect(store.append('s', [newEvent('C')], 'any', { fence: { lease: 'leader', token: 0n } })).rejects.toBeInstanceOf(FencedError);
    } finally {
      await store.close();
    }
    const after = new Database(path);
    expect(after.prepare('SELECT * FROM opl_events ORDER BY position').all()).toEqual(events);
    after.close();
  });
});
