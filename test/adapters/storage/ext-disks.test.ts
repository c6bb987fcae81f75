import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createExtDiskStorage } from '../../../src/adapters/storage/ext-disks.js';
import type { DiskTarget, DriverCall, StorageContext } from '../../../src/domain/ports/disk-storage.js';

const DRIVERS = resolve(import.meta.dirname, '../../fixtures/drivers');

const setup = () => {
  const work = mkdtempSync(join(tmpdir(), 'opl-ext-journal-'));
  const pool = join(work, 'pool');
  mkdirSync(pool);
  const target: DiskTarget = {
    nodeName: 'n1',
    template: 'ext',
    instance: { name: 'web', uuid: 'u-1', tags: [] },
    disk: { index: 0, sizeMib: 100, logicalId: '', params: {}, adopted: false },
    pool: { name: 'counted', driver: 'counted', params: { dir: pool }, timeoutSeconds: 20 },
    peers: ['n1'],
  };
  const recorded: DriverCall[] = [];
  const ctx = (callId?: string): StorageContext => ({
    ...(callId !== undefined && { callId }),
    recordCall: async (call) => void recorded.push(call),
    log: async () => undefined,
  });
  const driverRuns = (action = 'create') =>
    (existsSync(join(pool, 'calls')) ? readFileSync(join(pool, 'calls'), 'utf8').trim().split('\n') : []).filter((l) => l.startsWith(`${action} `));
  return { work, target, ctx, recorded, driverRuns };
};

describe('ext disks with a call journal', () => {
  it('runs create once for two calls with one call id, and answers both with its logical id', async () => {
    const s = setup();
    const storage = createExtDiskStorage([DRIVERS], { journalDir: join(s.work, 'driver-calls') });
    const first = await storage.create(s.target, s.ctx('intent-1'));
    const again = await storage.create(s.target, s.ctx('intent-1'));
    expect(first.logicalId).toMatch(/^vol-web-0-\d+$/);
    expect(again).toEqual(first);
    expect(s.driverRuns()).toHaveLength(1);
    // The check that the volume is there (attach, then detach) is journaled too: it ran once.
    expect(s.driverRuns('attach')).toHaveLength(1);
    expect(s.recorded.map((c) => [c.action, c.outcome, c.logicalId])).toEqual([
      ['create', 'ok', first.logicalId],
      ['attach', 'ok', first.logicalId],
      ['detach', 'ok', first.logicalId],
      ['create', 'ok', first.logicalId],
      ['attach', 'ok', first.logicalId],
      ['detach', 'ok', first.logicalId],
    ]);
    expect(existsSync(join(s.work, 'driver-calls', 'intent-1', 'exit'))).toBe(true);
  });

  it('runs the driver for each call without a call id, or without a journal', async () => {
    const s = setup();
    const journaled = createExtDiskStorage([DRIVERS], { journalDir: join(s.work, 'driver-calls') });
    const plain = createExtDiskStorage([DRIVERS]);
    const ids = [
      await journaled.create(s.target, s.ctx()),
      await plain.create(s.target, s.ctx('intent-2')),
      await journaled.create(s.target, s.ctx('intent-3')),
      await journaled.create(s.target, s.ctx('intent-4')),
    ].map((r) => r.logicalId);
    expect(new Set(ids).size).toBe(4);
    expect(s.driverRuns()).toHaveLength(4);
    expect(existsSync(join(s.work, 'driver-calls', 'intent-2'))).toBe(false);
  });
});
