import { closeSync, existsSync, openSync, readSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DiskStorage, DiskTarget } from '../../../src/domain/ports/disk-storage.js';

const MIB = 1024 * 1024;
const ctx = { recordCall: async () => undefined, log: async () => undefined };

export const fileTarget = (template: 'file' | 'sharedfile', logicalId: string, sizeMib: number, nodeName = 'n1'): DiskTarget => ({
  nodeName,
  template,
  instance: { name: 'web', uuid: 'u', tags: [] },
  disk: { index: 0, sizeMib, logicalId, params: {}, adopted: false },
  peers: [nodeName],
});

export interface FileStorageSetup {
  storage: DiskStorage;
  /** The cluster's shared directory, one every node may keep sharedfile disks in. */
  shared: string;
  /** Where a node keeps its own `file` disks. */
  fileDirOf: (node: string) => string;
}

/**
 * What every adapter serving `file` and `sharedfile` disks promises, local or through a
 * node daemon: sparse files, growth that never shrinks, renames that keep the data, each
 * step idempotent, `file` disks confined to the node's own directory.
 */
export const fileStorageContract = (label: string, setup: () => FileStorageSetup) => {
  describe(`file-backed disks: ${label}`, () => {
    it('creates sparse files, grows them, never shrinks, renames and removes them, each step idempotent', async () => {
      const { storage, shared } = setup();
      const disk = fileTarget('sharedfile', join(shared, 'web', 'disk0'), 100);
      await storage.create(disk, ctx);
      await storage.create(disk, ctx);
      const path = join(shared, 'web', 'disk0');
      expect(statSync(path).size).toBe(100 * MIB);
      expect(statSync(path).blocks).toBeLessThan(16); // sparse: no data written
      writeFileSync(path, 'data that must survive', { flag: 'r+' });
      expect(await storage.grow(disk, 300, ctx)).toEqual({ sizeMib: 300 });
      expect(await storage.grow(disk, 200, ctx)).toEqual({ sizeMib: 300 });
      expect(statSync(path).size).toBe(300 * MIB);
      expect(await storage.attach(disk, ctx)).toEqual({ device: path });
      await storage.detach(disk, ctx);
      const moved = join(shared, 'web2', 'disk0');
      expect(await storage.rename(disk, 'web2', moved, ctx)).toEqual({ logicalId: moved });
      await storage.rename(disk, 'web2', moved, ctx);
      expect(existsSync(join(shared, 'web'))).toBe(false);
      const renamed = { ...disk, disk: { ...disk.disk, logicalId: moved } };
      const fd = openSync(moved, 'r');
      const head = Buffer.alloc(22);
      readSync(fd, head, 0, 22, 0);
      closeSync(fd);
      expect(head.toString()).toBe('data that must survive');
      await storage.remove(renamed, ctx);
      await storage.remove(renamed, ctx);
      expect(existsSync(join(shared, 'web2'))).toBe(false);
    });

    it("keeps file disks inside the node's own directory", async () => {
      const { storage, fileDirOf } = setup();
      await storage.create(fileTarget('file', 'web/disk0', 1), ctx);
      expect(statSync(join(fileDirOf('n1'), 'web', 'disk0')).size).toBe(MIB);
      expect(await storage.attach(fileTarget('file', 'web/disk0', 1), ctx)).toEqual({ device: join(fileDirOf('n1'), 'web', 'disk0') });
      await storage.remove(fileTarget('file', 'web/disk0', 1), ctx);
      expect(existsSync(join(fileDirOf('n1'), 'web'))).toBe(false);
      await expect(storage.create(fileTarget('file', '../../escape/disk0', 1), ctx)).rejects.toThrow(/would leave/);
      await expect(storage.create(fileTarget('sharedfile', 'relative/disk0', 1), ctx)).rejects.toThrow(/not an absolute path/);
      await expect(storage.grow(fileTarget('file', 'ghost/disk0', 2), 2, ctx)).rejects.toThrow(/is missing/);
      await expect(storage.attach(fileTarget('file', 'ghost/disk0', 2), ctx)).rejects.toThrow(/is missing/);
    });
  });
};
