import { isAbsolute, join, normalize, posix } from 'node:path';
import type { DiskStorage, DiskTarget } from '../../domain/ports/disk-storage.js';
import { ensureFile, fileSize, moveFile, removeFile, type ConfinedPath } from './confined-files.js';

const MIB = 1024 * 1024;

/**
 * `file` and `sharedfile` disks: sparse files at `DIR/INSTANCE/diskN`. `file` logical
 * ids are relative to the node's own `file-storage` directory; `sharedfile` ones are
 * absolute paths under the shared mountpoint, whose directory is the one two levels
 * up (a disk stays where it was made if the cluster's directory changes later).
 * Every operation goes through confined-files.ts: nothing in the directory — a
 * planted link, a directory swapped for one — can make it touch a file outside.
 */
export interface FileDiskPlaces {
  /** A node daemon's own `file` directory, for whichever node it is asked about (it is one). */
  fileDir?: string;
  /**
   * The directories a node daemon was given (node.json's storageDirs): a `sharedfile`
   * disk anywhere else is refused, so a caller cannot make the node write where it chose.
   */
  sharedRoots?: readonly string[];
}

export const createFileDiskStorage = (nodesDir: string, places: FileDiskPlaces = {}): DiskStorage => {
  const locate = (target: DiskTarget, logicalId = target.disk.logicalId): ConfinedPath => {
    const shared = target.template === 'sharedfile';
    if (shared && !isAbsolute(logicalId)) throw new Error(`sharedfile disk '${logicalId}' is not an absolute path`);
    const base = shared ? '/' : (places.fileDir ?? join(nodesDir, target.nodeName, 'file-storage'));
    const parts = logicalId.split('/').filter((c) => c !== '');
    const plain = normalize(logicalId) === logicalId.replace(/\/+/g, '/') && !parts.some((c) => c === '.' || c === '..' || c.includes('\0'));
    // DIR/INSTANCE/diskN: the two names below the directory are the disk's own.
    if (!plain || parts.length < 2 || (!shared && parts.length !== 2)) {
      throw new Error(`${target.template} disk '${logicalId}' would leave ${shared ? 'its directory' : base}: expected DIR/INSTANCE/diskN`);
    }
    const root = shared ? `/${parts.slice(0, -2).join('/')}` : base;
    if (shared && places.sharedRoots && !places.sharedRoots.some((dir) => posix.normalize(dir).replace(/\/+$/, '') === root)) {
      const given = places.sharedRoots.length ? places.sharedRoots.join(', ') : 'none';
      throw new Error(`sharedfile disk ${logicalId}: ${root} is not a storage directory of node ${target.nodeName} (its node.json storageDirs: ${given})`);
    }
    const full = shared ? posix.join(root, ...parts.slice(-2)) : join(base, ...parts);
    return { root, dirs: [parts[parts.length - 2]!], name: parts[parts.length - 1]!, shown: `${target.template} disk ${full}`, full };
  };
  return {
    async create(target) {
      await ensureFile(locate(target), target.disk.sizeMib * MIB, true);
      return { logicalId: target.disk.logicalId };
    },
    async grow(target, sizeMib) {
      const where = locate(target);
      const size = await ensureFile(where, sizeMib * MIB, false);
      if (size === undefined) throw new Error(`disk file ${where.full} is missing`);
      return { sizeMib: Math.floor(size / MIB) };
    },
    async remove(target) {
      await removeFile(locate(target));
    },
    async attach(target) {
      const where = locate(target);
      if ((await fileSize(where)) === undefined) throw new Error(`disk file ${where.full} is missing`);
      return { device: where.full };
    },
    async detach() {
      // A file needs no detaching: the hypervisor opens it directly.
    },
    async rename(target, _newInstanceName, newLogicalId) {
      const from = locate(target);
      const to = locate(target, newLogicalId);
      if (from.root !== to.root) throw new Error(`${from.shown}: the new name ${to.full} is in another directory`);
      await moveFile(from, to);
      return { logicalId: newLogicalId };
    },
  };
};
