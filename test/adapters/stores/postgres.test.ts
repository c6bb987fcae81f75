import { describe, expect, it } from 'vitest';
import { createPostgresEventStore } from '../../../src/adapters/stores/postgres.js';
import pg from 'pg';
import { FencedError, StoreOpenError } from '../../../src/domain/ports/event-store.js';
import { describeEventStoreContract, newEvent, startFencedWriter } from './event-store.contract.js';
import { describeChainContract } from './event-store-chain.contract.js';
import { PG_URL, freshSchemaUrl } from './pg-url.js';
import type { EventStore, RecordedEvent } from '../../../src/domain/ports/event-store.js';

const readAll = async (store: EventStore) => {
  const out: RecordedEvent[] = [];
  for await (const e of store.readAll()) out.push(e);
  return out;
};

describeEventStoreContract('postgres', async () => {
  const url = freshSchemaUrl();
  return { open: () => createPostgresEventStore(url, { pollMs: 20 }), url };
}, { crossProcess: true });

describeChainContract('postgres', async () => {
  const url = freshSchemaUrl();
  return { open: () => createPostgresEventStore(url, { pollMs: 20 }), url };
}, { sharedOpen: true });

describe('postgres store: bad locations', () => {
  it('fails with a clear error when the server cannot be reached', async () => {
    await expect(createPostgresEventStore('postgres://postgres@127.0.0.1:1/test')).rejects.toThrow(StoreOpenError);
  });
  it('refuses a schema name that is not a plain identifier', async () => {
    await expect(createPostgresEventStore(`${PG_URL}?schema=x;drop`)).rejects.toThrow(/schema/);
  });
});

describe('postgres store: stores made before leases had a fencing token', () => {
  it('gets the epoch column at open, keeping its events and leases; opening again changes nothing', async () => {
    const url = freshSchemaUrl();
    const schema = new URL(url).searchParams.get('schema')!;
    const old = await createPostgresEventStore(url);
    await old.append('s', [newEvent('A'), newEvent('B')], 'no_stream');
    await old.leases.tryAcquire('leader', { holder: 'a', pid: 1, host: 'h', expiresAt: Date.now() + 60_000 }, () => false);
    await old.close();
    const raw = new pg.Client({ connectionString: PG_URL });
    await raw.connect();
    try {
      await raw.query(`ALTER TABLE ${schema}.opl_leases DROP COLUMN epoch`);
      const events = (await raw.query(`SELECT * FROM ${schema}.opl_events ORDER BY position`)).rows;
      for (let i = 0; i < 2; i++) {
        const store = await createPostgresEventStore(url);
        try {
          expect(await store.leases.current('leader')).toMatchObject({ holder: 'a', epoch: 0n });
        } finally {
          await store.close();
        }
      }
      const store = await createPostgresEventStore(url);
      try {
        expect(await store.leases.tryAcquire('leader', { holder: 'b', pid: 1, host: 'h', expiresAt: 0 }, () => true)).toBe(1n);
        await expect(store.append('s', [newEvent('C')], 'any', { fence: { lease: 'leader', token: 0n } })).rejects.toBeInstanceOf(FencedError);
      } finally {
        await store.close();
      }
      expect((await raw.query(`SELECT * FROM ${schema}.opl_events ORDER BY position`)).rows).toEqual(events);
    } finally {
      await raw.end();
    }
  });
});

describe('postgres store: a writer frozen inside an append', () => {
  it('does not keep a take-over waiting for longer than the idle-in-transaction limit, and writes nothing after it', async () => {
    const url = freshSchemaUrl();
    const store = await createPostgresEventStore(url);
    const writer = startFencedWriter(url, 'leader', 'engine-f');
    const { child, exited } = writer;
    try {
      await writer.appendingSteadily();
      // Frozen wherever it is: most of a tight append loop is spent inside a transaction.
      child.kill('SIGSTOP');
      const token = await store.leases.tryAcquire('leader', { holder: 'usurper', pid: 1, host: 'h', expiresAt: Date.now() + 60_000 }, () => true);
      expect(token).toBe(2n);
      const head = (await readAll(store)).filter((e) => e.stream === 'fenced-engine-f');
      child.kill('SIGCONT');
      const code = await exited;
      // Refused by the fence, or its frozen transaction ended by the server (seen as that
      // message, or as the connection lost when the reset arrives first): either way it stops.
      if (code === 0) expect(writer.out()).toMatch(/^fenced engine engine-f's lease \(epoch 1\) was taken over \(epoch 2\)/m);
      else expect(writer.err()).toMatch(/idle-in-transaction|terminat|the connection to PostgreSQL was lost/i);
      const written = (await readAll(store)).filter((e) => e.stream === 'fenced-engine-f');
      expect(written).toEqual(head);
      expect(written.length % 3).toBe(0);
    } finally {
      if (child.exitCode === null) {
        child.kill('SIGCONT');
        child.kill('SIGKILL');
      }
      await store.close();
    }
  }, 60_000);
});
