import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { openEventStore, type StoreLocation } from '../../src/adapters/stores/open.js';
import { FencedError, type EventStore, type Lease } from '../../src/domain/ports/event-store.js';
import { CLIENT_PATIENCE, createStorePatience, patientStore } from '../../src/engine/store-patience.js';
import { freshSchemaUrl } from '../adapters/stores/pg-url.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const LOCATIONS: [string, () => StoreLocation][] = [
  [
    'SQLite',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'opl-wrapped-'));
      dirs.push(dir);
      return { kind: 'sqlite', path: join(dir, 'opledger.sqlite') };
    },
  ],
  ['PostgreSQL', () => ({ kind: 'postgres', url: freshSchemaUrl() })],
];

const event = (engineId: string) => ({ id: randomUUID(), type: 'Written', data: {}, metadata: { actor: 't', recordedAt: new Date().toISOString(), engineId } });
const lease = (holder: string, expiresAt: number): Lease => ({ holder, pid: process.pid, host: 'h', expiresAt });
const positions = async (store: EventStore) => {
  const out: bigint[] = [];
  for await (const e of store.readAll()) out.push(e.position);
  return out;
};

/**
 * The store as the engine gets it: the adapter, its errors classified (a Proxy), then
 * retried with patience. Both wrappers must hand the fence to the adapter and pass the
 * audit port through, or a frozen leader writes again, or `audit verify` reads nothing.
 */
describe.each(LOCATIONS)('the wrapped %s store', (_name, location) => {
  it('refuses a write under an older fencing token at once (not retried), and lets the new leader write', async () => {
    const reports: string[] = [];
    const store = patientStore(await openEventStore(location(), { create: true }), createStorePatience(CLIENT_PATIENCE, (m) => reports.push(m)));
    try {
      const old = await store.leases.tryAcquire('leader', lease('a', Date.now() - 1), () => false);
      const taken = await store.leases.tryAcquire('leader', lease('b', Date.now() + 60_000), () => true);
      expect(old).not.toBeNull();
      expect(taken).toBe(old! + 1n);
      const refused = await store.append('s', [event('a')], 'any', { fence: { lease: 'leader', token: old! } }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(FencedError);
      expect((refused as FencedError).current).toBe(taken);
      expect(reports).toEqual([]); // not taken for a store failure and waited out
      expect(await positions(store)).toEqual([]);
      await store.append('s', [event('b')], 'any', { fence: { lease: 'leader', token: taken! } });
      expect(await positions(store)).toEqual([1n]);
    } finally {
      await store.close();
    }
  });

  it('passes the audit port through: raw rows and stream heads as stored', async () => {
    const store = patientStore(await openEventStore(location(), { create: true }), createStorePatience(CLIENT_PATIENCE));
    try {
      await store.append('s', [event('a'), event('a')], 'any');
      const rows = [];
      for await (const page of store.audit.readRawPages()) rows.push(...page);
      expect(rows.map((r) => [r.position, r.revision, r.hash.length])).toEqual([[1, 0, 64], [2, 1, 64]]);
      expect((await store.audit.rawAt(2))?.prevHash).toBe(rows[0]!.hash);
      expect(await store.audit.streamHeads()).toEqual(new Map([['s', 1]]));
    } finally {
      await store.close();
    }
  });
});
