import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { StoreOpenError, type EventStore } from '../../domain/ports/event-store.js';
import { createMemoryEventStore } from './memory.js';
import { createSqliteEventStore } from './sqlite.js';
import { upgradeSqliteLog } from './sqlite-schema.js';

export type StoreLocation =
  | { kind: 'sqlite'; path: string }
  | { kind: 'postgres'; url: string }
  | { kind: 'memory' };

/** `sqlite:PATH`, `postgres://…` (or `postgresql://…`), `memory:`; nothing means SQLite in the data dir. */
export const parseStoreLocation = (url: string | undefined, dataDir: string): StoreLocation => {
  if (url === undefined || url === '') return { kind: 'sqlite', path: join(resolve(dataDir), 'opledger.sqlite') };
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path === '') throw new StoreOpenError(`--store '${url}': expected sqlite:PATH with a file path`);
    return { kind: 'sqlite', path: resolve(path) };
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    try {
      new URL(url);
    } catch {
      throw new StoreOpenError(`--store '${url}': not a valid postgres:// URL`);
    }
    return { kind: 'postgres', url };
  }
  if (url === 'memory:') return { kind: 'memory' };
  throw new StoreOpenError(`--store '${url}': expected sqlite:PATH, postgres://USER@HOST:PORT/DB or memory:`);
};

export const openEventStore = async (location: StoreLocation): Promise<EventStore> => {
  switch (location.kind) {
    case 'sqlite':
      mkdirSync(dirname(location.path), { recursive: true });
      return createSqliteEventStore(location.path);
    case 'postgres': {
      // Loaded on demand: SQLite users never pay for the pg driver's start-up.
      const { createPostgresEventStore } = await import('./postgres.js');
      return createPostgresEventStore(location.url);
    }
    case 'memory':
      return createMemoryEventStore();
  }
};

/** `opl audit upgrade`: gives a format-1 log its hash chain in place, once. */
export const upgradeEventLog = async (location: StoreLocation): Promise<{ events: number; from: string; to: string }> => {
  switch (location.kind) {
    case 'sqlite':
      if (!existsSync(location.path)) throw new StoreOpenError(`'${location.path}': no such store, nothing to upgrade`);
      return upgradeSqliteLog(location.path);
    case 'postgres': {
      const { upgradePostgresStore } = await import('./postgres.js');
      return upgradePostgresStore(location.url);
    }
    case 'memory':
      throw new StoreOpenError('memory: a store in memory has nothing to upgrade');
  }
};
