import { mkdir, open, rename, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { isInside } from '../../domain/storage-paths.js';
import type { DiskStorage, DiskTarget } from '../../domain/ports/disk-storage.js';

const MIB = 1024 * 1024;

/**
 * `file` and `sharedfile` disks: sparse files. `file` logical ids are relative to
 * the node's own `file-storage` directory; `sharedfile` ones are absolute paths
 * under the shared mountpoint. A path that would leave its directory is refused.
 */
export const createFileDiskStorage = (nodesDir: string): DiskStorage => {
  const pathOf = (target: DiskTarget, logicalId = target.disk.logicalId): string => {
    if (target.template === 'sharedfile') {
      if (!isAbsolute(logicalId)) throw new Error(`sharedfile disk '${logicalId}' is not an absolute path`);
      return logicalId;
    }
    const base = join(nodesDir, target.nodeName, 'file-storage');
    const path = join(base, logicalId);
    if (!isInside(base, path)) throw new Error(`file disk '${logicalId}' would leave ${base}`);
    return path;
  };
  const sizeOf = async (path: string): Promise<number | undefined> => {
    try {
      return (await stat(path)).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  };
  const extendTo = async (path: string, sizeMib: number) => {
    const handle = await open(path, 'a');
    try {
      const { size } = await handle.stat();
      if (size < sizeMib * MIB) await handle.truncate(sizeMib * MIB);
    } finally {
      await handle.close();
    }
  };
  return {
    async create(target) {
      const path = pathOf(target);
      await mkdir(dirname(path), { recursive: true });
      await extendTo(path, target.disk.sizeMib);
      return { logicalId: target.disk.logicalId };
    },
    async grow(target, sizeMib) {
      const path = pathOf(target);
      if ((await sizeOf(path)) === undefined) throw new Error(`disk file ${path} is missing`);
      await extendTo(path, sizeMib);
      return { sizeMib: Math.floor((await sizeOf(path))! / MIB) };
    },
    async remove(target) {
      const path = pathOf(target);
      await rm(path, { force: true });
      await rmdir(dirname(path)).catch(() => undefined); // only when it is empty
    },
    async attach(target) {
      const path = pathOf(target);
      if ((await sizeOf(path)) === undefined) throw new Error(`disk file ${path} is missing`);
      return { device: path };
    },
    async detach() {
      // A file needs no detaching: the hypervisor opens it directly.
    },
    async rename(target, _newInstanceName, newLogicalId) {
      const from = pathOf(target);
      const to = pathOf(target, newLogicalId);
      if ((await sizeOf(from)) === undefined) {
        if ((await sizeOf(to)) !== undefined) return { logicalId: newLogicalId }; // done before a crash
        throw new Error(`disk file ${from} is missing`);
      }
      await mkdir(dirname(to), { recursive: true });
      await rename(from, to);
      await rmdir(dirname(from)).catch(() => undefined);
      return { logicalId: newLogicalId };
    },
  };
};
