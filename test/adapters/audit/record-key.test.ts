import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { auditKeyPath } from '../../../src/adapters/audit/keys.js';
import { ensureRecordedAuditKey, recordedAuditKeys } from '../../../src/adapters/audit/record-key.js';
import { createPostgresEventStore } from '../../../src/adapters/stores/postgres.js';
import { createSqliteEventStore } from '../../../src/adapters/stores/sqlite.js';
import type { EventStore } from '../../../src/domain/ports/event-store.js';
import { freshSchemaUrl } from '../stores/pg-url.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'opl-audit-key-'));
  dirs.push(dir);
  return dir;
};

const STORES: [string, () => Promise<EventStore>][] = [
  ['SQLite', async () => createSqliteEventStore(join(tempDir(), 'opledger.sqlite'))],
  ['PostgreSQL', () => createPostgresEventStore(freshSchemaUrl())],
];

const count = async (store: EventStore) => {
  let n = 0;
  for await (const _ of store.readAll()) n++;
  return n;
};

describe.each(STORES)('the audit key of a %s log shared by two data dirs', (_name, open) => {
  it('a checkpoint from a data dir without the recorded key is refused: no second key is made or recorded', async () => {
    const store = await open();
    try {
      const first = tempDir();
      const second = tempDir();
      const made = await ensureRecordedAuditKey(store, first, 'a', { newCluster: true });
      expect(made.recorded).toBe(true);
      const events = await count(store);
      await expect(ensureRecordedAuditKey(store, second, 'b')).rejects.toThrow(
        `the log's audit key is ${made.key.fingerprint}, and this data dir (${second}) has none: sign checkpoints where 'cluster init' made the key, or copy its DATA_DIR/audit-key.pem here (mode 0600); nothing was signed`,
      );
      expect(existsSync(auditKeyPath(second))).toBe(false);
      expect(await count(store)).toBe(events);
      expect([...(await recordedAuditKeys(store)).keys()]).toEqual([made.key.fingerprint]);
      // The data dir that made the key signs with it, recording nothing more.
      const again = await ensureRecordedAuditKey(store, first, 'a');
      expect({ fingerprint: again.key.fingerprint, recorded: again.recorded }).toEqual({ fingerprint: made.key.fingerprint, recorded: false });
      expect(await count(store)).toBe(events);
    } finally {
      await store.close();
    }
  });

  it('a data dir holding another key is refused too, naming both', async () => {
    const store = await open();
    try {
      const first = tempDir();
      const other = tempDir();
      const made = await ensureRecordedAuditKey(store, first, 'a', { newCluster: true });
      // A key made for another log.
      const otherLog = await open();
      const elsewhere = await ensureRecordedAuditKey(otherLog, other, 'x', { newCluster: true }).finally(() => otherLog.close());
      await expect(ensureRecordedAuditKey(store, other, 'b')).rejects.toThrow(
        `the log's audit key is ${made.key.fingerprint}, and this data dir's key ${auditKeyPath(other)} is ${elsewhere.key.fingerprint}:`,
      );
    } finally {
      await store.close();
    }
  });

  it('a log recording no key yet (initialised before checkpoints) gets this data dir’s key at its first checkpoint', async () => {
    const store = await open();
    try {
      const dir = tempDir();
      const first = await ensureRecordedAuditKey(store, dir, 'a');
      expect(first.recorded).toBe(true);
      expect([...(await recordedAuditKeys(store)).keys()]).toEqual([first.key.fingerprint]);
    } finally {
      await store.close();
    }
  });
});
