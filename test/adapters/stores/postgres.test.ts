import { describe, expect, it } from 'vitest';
import { createPostgresEventStore } from '../../../src/adapters/stores/postgres.js';
import { StoreOpenError } from '../../../src/domain/ports/event-store.js';
import { describeChainContract } from './event-store-chain.contract.js';
import { describeEventStoreContract } from './event-store.contract.js';
import { PG_URL, freshSchemaUrl } from './pg-url.js';

describeEventStoreContract('postgres', async () => {
  const url = freshSchemaUrl();
  return { open: () => createPostgresEventStore(url, { pollMs: 20 }), url };
}, { crossProcess: true });

describeChainContract('postgres', async () => {
  const url = freshSchemaUrl();
  return { open: () => createPostgresEventStore(url, { pollMs: 20 }), url };
});

describe('postgres store: bad locations', () => {
  it('fails with a clear error when the server cannot be reached', async () => {
    await expect(createPostgresEventStore('postgres://postgres@127.0.0.1:1/test')).rejects.toThrow(StoreOpenError);
  });
  it('refuses a schema name that is not a plain identifier', async () => {
    await expect(createPostgresEventStore(`${PG_URL}?schema=x;drop`)).rejects.toThrow(/schema/);
  });
});
