import { closeSync, existsSync, mkdtempSync, openSync, readSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFileDiskStorage } from '../../../src/adapters/storage/file-disks.js';
import type { DiskTarget } from '../../../src/domain/ports/disk-storage.js';

const MIB = 1024 * 1024;
const ctx = { recordCall: async () => undefined, log: async () => undefined };
const target = (template: 'file' | 'sharedfile', logicalId: string, sizeMib: number): DiskTarget => ({
  nodeName: 'n1',
  template,
  instance: { name: 'web', uuid: 'u', tags: [] },
  disk: { index: 0, sizeMib, logicalId, params: {}, adopted: false },
  peers: ['n1'],
});

describe('file-backed disks', () => {
  it('creates sparse files, grows them, never shrinks, renames and removes them, each step idempotent', async () => {
    const nodes = mkdtempSync(join(tmpdir(), 'opl-nodes-'));
    const shared = mkdtempSync(join(tmpdir(), 'opl-shared-'));
    const storage = createFileDiskStorage(nodes);
    const disk = target('sharedfile', join(shared, 'web', 'disk0'), 100);
    await storage.create(disk, ctx);
    await storage.create(disk, ctx);
    const path = join(shared, 'web', 'disk0');
    expect(statSync(path).size).toBe(100 * MIB);
    expect(statSync(path).blocks).toBeLessThan(16); // sparse: no data written
    writeFileSync(path, 'data that must survive', { flag: 'r+' });
    expect(await storage.grow(disk, 300, ctx)).toEqual({ sizeMib: 300 });
    expect(await storage.grow(disk, 200, ctx)).toEqual({ sizeMib: 300 });
    expect(statSync(path).size).toBe(300 * MIB);
    const moved = join(shared, 'web2', 'disk0');
    await storage.rename(disk, 'web2', moved, ctx);
    await storage.rename(disk, 'web2', moved, ctx);
    expect(existsSync(join(shared, 'web'))).toBe(false);
    const renamed = { ...disk, disk: { ...disk.disk, logicalId: moved } };
    expect(statSync(moved).size).toBe(300 * MIB);
    const fd = openSync(moved, 'r');
    const head = Buffer.alloc(22);
    readSync(fd, head, 0, 22, 0);
    closeSync(fd);
    expect(head.toString()).toBe('data that must survive');
    await storage.remove(renamed, ctx);
    await storage.remove(renamed, ctx);
    expect(existsSync(join(shared, 'web2'))).toBe(false);
  });

  it('keeps file disks inside the node\'s own directory', async () => {
    const nodes = mkdtempSync(join(tmpdir(), 'opl-nodes-'));
    const storage = createFileDiskStorage(nodes);
    await storage.create(target('file', 'web/disk0', 1), ctx);
    expect(statSync(join(nodes, 'n1', 'file-storage', 'web', 'disk0')).size).toBe(MIB);
    await expect(storage.create(target('file', '../../escape/disk0', 1), ctx)).rejects.toThrow(/would leave/);
    await expect(storage.create(target('sharedfile', 'relative/disk0', 1), ctx)).rejects.toThrow(/not an absolute path/);
    await expect(storage.grow(target('file', 'ghost/disk0', 2), 2, ctx)).rejects.toThrow(/is missing/);
  });
});
