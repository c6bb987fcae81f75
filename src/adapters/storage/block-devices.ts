import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { DiskStorage, DiskTarget } from '../../domain/ports/disk-storage.js';

const run = promisify(execFile);

/**
 * `blockdev` disks: adopted devices (SAN LUNs) with the same path on every node of
 * the group. Nothing is ever made, resized or destroyed here; adopting checks the
 * device on each node and reads its size, removing only lets go of it.
 */
export const createBlockDeviceStorage = (): DiskStorage => {
  /** Checks the device as `node` sees it. Local nodes share this machine's /dev. */
  const sizeOnNode = async (node: string, path: string): Promise<number> => {
    let info;
    try {
      info = await stat(path);
    } catch {
      throw new Error(`node ${node}: ${path} does not exist`);
    }
    if (!info.isBlockDevice()) throw new Error(`node ${node}: ${path} is not a block device`);
    const { stdout } = await run('blockdev', ['--getsize64', path]);
    return Math.floor(Number(stdout.trim()) / (1024 * 1024));
  };
  const device = (target: DiskTarget) => target.disk.logicalId;
  return {
    async create(target) {
      // Every node is checked; the first failure in node order is the one reported, so
      // the same cluster always gets the same message.
      const checked = await Promise.allSettled(target.peers.map((node) => sizeOnNode(node, device(target))));
      const failed = checked.find((c): c is PromiseRejectedResult => c.status === 'rejected');
      if (failed) throw failed.reason;
      const sizes = checked.map((c) => (c as PromiseFulfilledResult<number>).value);
      if (new Set(sizes).size > 1) {
        throw new Error(`${device(target)} has different sizes on nodes ${target.peers.join(', ')}: ${sizes.join(', ')} MiB; is it the same device everywhere?`);
      }
      return { logicalId: device(target), sizeMib: sizes[0] ?? 0 };
    },
    async grow() {
      throw new Error('adopted block devices are grown on the storage side, not by opledger');
    },
    async remove() {
      // Released: the device is the storage team's and stays exactly as it is.
    },
    async rename(target) {
      return { logicalId: device(target) };
    },
    async attach(target) {
      await sizeOnNode(target.nodeName, device(target));
      return { device: device(target) };
    },
    async detach() {
      // Nothing was set up to reach the device, so there is nothing to undo.
    },
  };
};
