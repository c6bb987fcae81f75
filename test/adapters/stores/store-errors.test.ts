import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createSqliteEventStore } from '../../../src/adapters/stores/sqlite.js';
import { classifyStoreError, withClassifiedErrors } from '../../../src/adapters/stores/store-errors.js';
import { StoreFailureError, WrongExpectedRevisionError } from '../../../src/domain/ports/event-store.js';
import { fillUp, mountSmallDisk } from '../../fixtures/small-disk.js';
import { PG_URL } from './pg-url.js';

const event = () => ({ id: randomUUID(), type: 'Written', data: {}, metadata: { actor: 't', recordedAt: new Date().toISOString() } });

/** A real tmpfs, filled to the last byte, so SQLite meets a real ENOSPC. */
const withFullDisk = async (body: (dir: string, free: () => void) => Promise<void>) => {
  const disk = mountSmallDisk(2);
  try {
    await body(disk.dir, () => rmSync(join(disk.dir, 'fill')));
  } finally {
    disk.remove();
  }
};

describe('store errors: one taxonomy for both stores', () => {
  it('SQLite on a full disk refuses writes (SQLITE_FULL); reads go on; the same append works once there is room', async () => {
    await withFullDisk(async (dir, free) => {
      const path = join(dir, 'events.sqlite');
      const store = withClassifiedErrors(createSqliteEventStore(path), path);
      await store.append('s', [event()], 'any');
      fillUp(dir);
      const batch = Array.from({ length: 50 }, event);
      const failure = await store.append('s', batch, 'any').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(failure).toBeInstanceOf(StoreFailureError);
      expect(failure).toMatchObject({ kind: 'refuses_writes', code: 'SQLITE_FULL' });
      expect((failure as Error).message).toBe(`the store refuses writes: ${path}: the disk (or file system) holding it is full (SQLITE_FULL)`);
      expect((await store.readAllPages(1n)[Symbol.asyncIterator]().next()).value).toHaveLength(1);
      free();
      expect((await store.append('s', batch, 'any')).position).toBe(51n);
      await store.close();
    });
  });

  it('a refused request is not a store failure: it passes through as it was', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'opl-errs-')), 'events.sqlite');
    const store = withClassifiedErrors(createSqliteEventStore(path), path);
    await expect(store.append('s', [event()], 5n)).rejects.toBeInstanceOf(WrongExpectedRevisionError);
    expect(classifyStoreError(new Error('something else'), 'x')).toBeUndefined();
    await store.close();
  });

  it('PostgreSQL refusing connections is unavailable (ECONNREFUSED)', async () => {
    // A port that was free a moment ago: nothing listens there.
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = server.address() as { port: number };
        server.close(() => resolve(p));
      });
    });
    const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/test` });
    const error = await client.connect().then(() => undefined, (e: unknown) => e);
    expect(classifyStoreError(error, `PostgreSQL at 127.0.0.1:${port}/test`)).toMatchObject({ kind: 'unavailable', code: 'ECONNREFUSED' });
  });

  it('a PostgreSQL backend terminated under a connection is unavailable (57P01 or the connection lost)', async () => {
    const victim = new pg.Client({ connectionString: PG_URL });
    victim.on('error', () => undefined);
    await victim.connect();
    const pid = (await victim.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
    const killer = new pg.Client({ connectionString: PG_URL });
    await killer.connect();
    try {
      await killer.query('SELECT pg_terminate_backend($1)', [pid]);
      const error = await victim.query('SELECT 1').then(() => undefined, (e: unknown) => e);
      const failure = classifyStoreError(error, 'PostgreSQL');
      expect(failure?.kind).toBe('unavailable');
      expect(['57P01', 'connection-lost', 'ECONNRESET']).toContain(failure?.code);
    } finally {
      await killer.end();
      await victim.end().catch(() => undefined);
    }
  });
});
