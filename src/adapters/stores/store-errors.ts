import { isObservable, catchError, throwError } from 'rxjs';
import { StoreFailureError, type EventStore, type StoreFailureKind } from '../../domain/ports/event-store.js';

/**
 * The one place that says which driver errors mean "the store failed" rather than
 * "this request was wrong". Everything else (a wrong expected revision, a bug) passes
 * through unchanged. SQLite's extended codes (SQLITE_IOERR_WRITE, SQLITE_READONLY_DBMOVED)
 * are matched by their primary code.
 */
const SQLITE: Record<string, { kind: StoreFailureKind; why: string }> = {
  SQLITE_FULL: { kind: 'refuses_writes', why: 'the disk (or file system) holding it is full' },
  SQLITE_READONLY: { kind: 'refuses_writes', why: 'it is read-only (its file, directory or file system)' },
  SQLITE_PERM: { kind: 'refuses_writes', why: 'permission to write it was denied' },
  SQLITE_IOERR: { kind: 'unavailable', why: 'a disk I/O error' },
  SQLITE_BUSY: { kind: 'unavailable', why: 'another process keeps it locked' },
  SQLITE_LOCKED: { kind: 'unavailable', why: 'another connection keeps it locked' },
  SQLITE_CANTOPEN: { kind: 'unavailable', why: 'its file cannot be opened' },
  SQLITE_PROTOCOL: { kind: 'unavailable', why: 'a locking protocol race' },
};

/** SQLSTATEs (and node socket codes) that mean the PostgreSQL server, not the query, failed. */
const POSTGRES: Record<string, { kind: StoreFailureKind; why: string }> = {
  ECONNREFUSED: { kind: 'unavailable', why: 'the PostgreSQL server refuses connections (is it running?)' },
  ECONNRESET: { kind: 'unavailable', why: 'the PostgreSQL server closed the connection' },
  EPIPE: { kind: 'unavailable', why: 'the PostgreSQL server closed the connection' },
  ETIMEDOUT: { kind: 'unavailable', why: 'the PostgreSQL server did not answer in time' },
  EHOSTUNREACH: { kind: 'unavailable', why: 'the PostgreSQL server cannot be reached' },
  ENETUNREACH: { kind: 'unavailable', why: 'the PostgreSQL server cannot be reached' },
  EAI_AGAIN: { kind: 'unavailable', why: "the PostgreSQL server's name cannot be resolved now" },
  '57P01': { kind: 'unavailable', why: 'the PostgreSQL server is shutting down (admin shutdown)' },
  '57P02': { kind: 'unavailable', why: 'the PostgreSQL server crashed (crash shutdown)' },
  '57P03': { kind: 'unavailable', why: 'the PostgreSQL server is starting up or shutting down' },
  '08000': { kind: 'unavailable', why: 'the connection to PostgreSQL failed' },
  '08001': { kind: 'unavailable', why: 'no connection to PostgreSQL could be made' },
  '08003': { kind: 'unavailable', why: 'the connection to PostgreSQL is gone' },
  '08004': { kind: 'unavailable', why: 'PostgreSQL rejected the connection' },
  '08006': { kind: 'unavailable', why: 'the connection to PostgreSQL failed' },
  '53300': { kind: 'unavailable', why: 'PostgreSQL has too many connections' },
  '53100': { kind: 'refuses_writes', why: "the PostgreSQL server's disk is full" },
  '53200': { kind: 'unavailable', why: 'the PostgreSQL server is out of memory' },
  '25006': { kind: 'refuses_writes', why: 'the PostgreSQL server is read-only (a standby, or default_transaction_read_only)' },
};

/** What node-postgres throws without a code when the socket went away under a query. */
const PG_CONNECTION_LOST = /^Connection terminated|connection error and is not queryable|timeout exceeded when trying to connect/;

const codeOf = (error: unknown): string | undefined => {
  const e = error as { code?: unknown; errors?: unknown[] };
  if (typeof e?.code === 'string') return e.code;
  // A host name with several addresses fails as an AggregateError of one error each.
  return e?.errors?.length ? codeOf(e.errors[0]) : undefined;
};

/** A driver error as a store failure at WHERE (a file path or a server address), or undefined if it is not one. */
export const classifyStoreError = (error: unknown, where: string): StoreFailureError | undefined => {
  if (error instanceof StoreFailureError) return error;
  const code = codeOf(error);
  const message = error instanceof Error ? error.message : String(error);
  if (code?.startsWith('SQLITE_')) {
    const known = SQLITE[code] ?? SQLITE[code.replace(/^(SQLITE_[A-Z]+)_.*$/, '$1')];
    return known && new StoreFailureError(known.kind, `${where}: ${known.why}`, code);
  }
  const known = code === undefined ? undefined : POSTGRES[code];
  if (known) return new StoreFailureError(known.kind, `${where}: ${known.why}`, code!);
  if (PG_CONNECTION_LOST.test(message)) return new StoreFailureError('unavailable', `${where}: the connection to PostgreSQL was lost`, 'connection-lost');
  return undefined;
};

const translate = (error: unknown, where: string): unknown => classifyStoreError(error, where) ?? error;

async function* translatedIterable<T>(source: AsyncIterable<T>, where: string): AsyncIterable<T> {
  try {
    yield* source;
  } catch (error) {
    throw translate(error, where);
  }
}

/** Wraps whatever a store method returns so that its failures come out classified. */
const translated = (value: unknown, where: string): unknown => {
  if (value instanceof Promise) return value.catch((error: unknown) => Promise.reject(translate(error, where)));
  if (isObservable(value)) return value.pipe(catchError((error: unknown) => throwError(() => translate(error, where))));
  if (value !== null && typeof value === 'object' && Symbol.asyncIterator in value) return translatedIterable(value as AsyncIterable<unknown>, where);
  return value;
};

const wrapObject = <T extends object>(target: T, where: string): T =>
  new Proxy(target, {
    get(obj, key, receiver) {
      const value: unknown = Reflect.get(obj, key, receiver);
      if (typeof value === 'function') {
        return (...args: unknown[]) => {
          try {
            return translated((value as (...a: unknown[]) => unknown).apply(obj, args), where);
          } catch (error) {
            throw translate(error, where);
          }
        };
      }
      // Nested ports (the lease store) fail the same way.
      if (value !== null && typeof value === 'object' && !isObservable(value)) return wrapObject(value, where);
      return value;
    },
  });

/**
 * The store with every failure of the store itself turned into a StoreFailureError.
 * A proxy, so that methods added to the port later are covered without a change here.
 */
export const withClassifiedErrors = (store: EventStore, where: string): EventStore => wrapObject(store, where);
