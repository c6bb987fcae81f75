import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createSqliteEventStore } from '../../../src/adapters/stores/sqlite.js';
import { StoreOpenError } from '../../../src/domain/ports/event-store.js';
import { describeChainContract } from './event-store-chain.contract.js';
import { describeEventStoreContract } from './event-store.contract.js';

const tempFile = () => join(mkdtempSync(join(tmpdir(), 'opl-sqlite-')), 'events.sqlite');

describeEventStoreContract('sqlite', async () => {
  const path = tempFile();
  return { open: async () => createSqliteEventStore(path), url: `sqlite:${path}` };
}, { crossProcess: true });

describeChainContract('sqlite', async () => {
  const path = tempFile();
  return { open: async () => createSqliteEventStore(path), url: `sqlite:${path}` };
});

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
