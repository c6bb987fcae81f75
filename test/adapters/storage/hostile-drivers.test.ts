import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createExtDiskStorage } from '../../../src/adapters/storage/ext-disks.js';
import type { DiskTarget, StorageContext } from '../../../src/domain/ports/disk-storage.js';
import { hostileDriverContract } from './hostile-contract.js';

const DRIVERS = resolve(import.meta.dirname, '../../fixtures/drivers');
const work = mkdtempSync(join(tmpdir(), 'opl-hostile-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

hostileDriverContract('on this host', (journalDir: string) => createExtDiskStorage([DRIVERS], { journalDir }));

describe("ext disks: the pool's recorded driver", () => {
  it('runs the driver recorded with the pool whatever the search path; says so when it is gone; looks pools without one up', async () => {
    const s = setup();
    const recorded = { ...s.target, pool: { ...s.target.pool!, driverDir: join(DRIVERS, 'leaky') } };
    const nowhere = createExtDiskStorage([join(work, 'no-such-dir')]);
    expect(await nowhere.create(recorded, { ...s.ctx, callId: 'r-1' })).toEqual({ logicalId: 'vm.disk0' });
    const gone = { ...s.target, pool: { ...s.target.pool!, driverDir: join(work, 'moved-away') } };
    await expect(nowhere.remove(gone, s.ctx)).rejects.toThrow(`storage driver 'leaky' of pool 'p' was recorded at ${join(work, 'moved-away')}, which is no longer a directory`);
    // A pool recorded before the place was kept: the search path decides.
    await expect(nowhere.remove(withoutDir(s.target), s.ctx)).rejects.toThrow(/storage driver 'leaky' of pool 'p' was not found in .*no-such-dir/);
    await createExtDiskStorage([DRIVERS]).remove({ ...s.target, disk: { ...s.target.disk, logicalId: 'vm.disk0' } }, s.ctx);
    expect(existsSync(join(s.pool, 'vm.disk0'))).toBe(false);
  });
});

const withoutDir = (target: DiskTarget): DiskTarget => {
  const { driverDir: _dir, ...pool } = target.pool!;
  return { ...target, pool };
};

const setup = () => {
  const pool = mkdtempSync(join(work, 'leaky-'));
  const target: DiskTarget = {
    nodeName: 'n1',
    template: 'ext',
    instance: { name: 'vm', uuid: 'u-recorded', tags: [] },
    disk: { index: 0, sizeMib: 10, logicalId: '', pool: 'p', params: {}, adopted: false },
    pool: { name: 'p', driver: 'leaky', params: { dir: pool }, timeoutSeconds: 20 },
    peers: ['n1'],
  };
  const ctx: StorageContext = { recordCall: async () => {}, log: async () => {}, claimLogicalId: async () => undefined };
  return { pool, target, ctx };
};
