import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { StoreOpenError, type EventStore } from '../../domain/ports/event-store.js';
import { createMemoryEventStore } from './memory.js';
import { createSqliteEventStore } from './sqlite.js';
import { classifyStoreError, withClassifiedErrors } from './store-errors.js';
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

export interface OpenOptions {
  /** Make the data dir and the store if they are not there: `cluster init` (and the demo) only. */
  create?: boolean;
  /**
   * Open an SQLite log that ends before its witnessed head (or holds another event there)
   * instead of refusing it: `audit verify` only, which then names what was lost.
   */
  openLostHead?: boolean;
}

/**
 * Opens the store with its failures classified (store-errors.ts). An SQLite store is
 * made only when asked to: any other command on a data dir that does not exist, or
 * holds no store, is refused instead of leaving an empty database behind.
 */
export const openEventStore = async (location: StoreLocation, options: OpenOptions = {}): Promise<EventStore> => {
  switch (location.kind) {
    case 'sqlite': {
      const dir = dirname(location.path);
      if (!existsSync(location.path)) {
        if (!options.create) throw new StoreOpenError(missingStore(location.path));
        mkdirSync(dir, { recursive: true });
      }
      refuseReadOnly(dir, location.path);
      return withClassifiedErrors(createSqliteEventStore(location.path, { refuseLostHead: options.openLostHead !== true }), location.path);
    }
    case 'postgres': {
      // Loaded on demand: SQLite users never pay for the pg driver's start-up.
      const { createPostgresEventStore } = await import('./postgres.js');
      const where = serverOf(location.url);
      const store = await createPostgresEventStore(location.url).catch((error: unknown) => {
        // Said in the same words as a failure under a running job.
        const failure = error instanceof StoreOpenError ? classifyStoreError(error.cause, where) : undefined;
        throw failure ? new StoreOpenError(`cannot open PostgreSQL store: ${failure.reason} (${failure.code})`) : error;
      });
      return withClassifiedErrors(store, where);
    }
    case 'memory':
      return createMemoryEventStore();
  }
};

const missingStore = (path: string): string => {
  const dir = dirname(path);
  return existsSync(dir)
    ? `no opledger store at ${path}: run 'opl cluster init NAME' to make one there, or give the right --data-dir (or OPL_DATA_DIR, or --store)`
    : `data dir ${dir} does not exist: give the right --data-dir (or OPL_DATA_DIR), or run 'opl cluster init NAME' to make a cluster there`;
};

/**
 * SQLite in WAL mode writes beside the database even to read it (its -wal and -shm
 * files, made at open and removed at close), so a read-only data dir cannot serve
 * even `instance list`: say so, rather than SQLite's "unable to open database file".
 */
const refuseReadOnly = (dir: string, path: string): void => {
  for (const target of existsSync(path) ? [dir, path] : [dir]) {
    try {
      accessSync(target, constants.W_OK);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'EACCES';
      const why = code === 'EROFS' ? 'is on a read-only file system' : 'is not writable by this user';
      throw new StoreOpenError(
        `${target === dir ? `data dir ${dir}` : `store ${path}`} ${why} (${code}): opl writes beside its SQLite store even to read it (the -wal and -shm files); mount it read-write or fix its permissions, or read a copy`,
      );
    }
  }
};

/** Where a PostgreSQL store is, for messages: never its password. */
const serverOf = (url: string): string => {
  const parsed = new URL(url);
  return `PostgreSQL at ${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`;
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
