import { execFile } from 'node:child_process';
import { realpath, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { ClusterState } from '../../domain/cluster-state.js';
import type { DeviceSighting } from '../../domain/devices.js';
import type { DiskStorage, DiskTarget } from '../../domain/ports/disk-storage.js';
import { busyReason, underlyingOf } from './block-topology.js';

const run = promisify(execFile);

/** Linux's split of a dev_t into major and minor (glibc's gnu_dev_major/minor). */
const deviceNumber = (rdev: bigint): string => {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return `${major}:${minor}`;
};

/**
 * What `path` resolves to as `node` sees it. Local nodes share this machine's /dev.
 * Links are followed on purpose: a device is known by what it is, not by its name.
 */
export const identifyDevice = async (node: string, path: string): Promise<DeviceSighting> => {
  let info;
  try {
    info = await stat(path, { bigint: true });
  } catch {
    return { kind: 'problem', message: `node ${node}: ${path} does not exist` };
  }
  if (!info.isBlockDevice()) return { kind: 'problem', message: `node ${node}: ${path} is not a block device` };
  const number = deviceNumber(info.rdev);
  const [resolved, { stdout }, underlying, busy] = await Promise.all([
    realpath(path),
    run('blockdev', ['--getsize64', path]),
    underlyingOf(number),
    busyReason(number),
  ]);
  return {
    kind: 'device',
    deviceNumber: number,
    sizeBytes: Number(stdout.trim()),
    resolved,
    ...(underlying.length > 0 && { underlying }),
    ...(busy && { busy }),
  };
};

/** What a path is on a node: on this machine (local nodes), or asked of the node's daemon. */
export type IdentifyDevice = (node: string, path: string) => Promise<DeviceSighting>;

/**
 * `blockdev` disks: adopted devices (SAN LUNs) with the same path on every node of
 * the group. Nothing is ever made, resized or destroyed here; adopting checks the
 * device on each node and reads its size, removing only lets go of it.
 */
export const createBlockDeviceStorage = (identify: IdentifyDevice = identifyDevice): DiskStorage => {
  const sizeOnNode = async (node: string, path: string): Promise<{ sizeMib: number; deviceNumber: string }> => {
    const seen = await identify(node, path);
    if (seen.kind === 'problem') throw new Error(seen.message);
    if (seen.sizeBytes === 0) throw new Error(`node ${node}: ${path} (device ${seen.deviceNumber}) is empty (0 bytes)`);
    if (seen.sizeBytes < 1024 * 1024) throw new Error(`node ${node}: ${path} (device ${seen.deviceNumber}) holds ${seen.sizeBytes} bytes, less than 1 MiB`);
    return { sizeMib: Math.floor(seen.sizeBytes / (1024 * 1024)), deviceNumber: seen.deviceNumber };
  };
  const device = (target: DiskTarget) => target.disk.logicalId;
  return {
    identify,
    async create(target) {
      // Every node is checked; the first failure in node order is the one reported, so
      // the same cluster always gets the same message.
      const checked = await Promise.allSettled(target.peers.map((node) => sizeOnNode(node, device(target))));
      const failed = checked.find((c): c is PromiseRejectedResult => c.status === 'rejected');
      if (failed) throw failed.reason;
      const sizes = checked.map((c) => (c as PromiseFulfilledResult<{ sizeMib: number }>).value.sizeMib);
      if (new Set(sizes).size > 1) {
        throw new Error(`${device(target)} has different sizes on nodes ${target.peers.join(', ')}: ${sizes.join(', ')} MiB; is it the same device everywhere?`);
      }
      // The path must still name the device the decision was made on (the name could
      // have been pointed elsewhere since); numbers are per host, so only the primary's is compared.
      const decided = target.disk.deviceNumber;
      const onPrimary = decided && (await sizeOnNode(target.nodeName, device(target))).deviceNumber;
      if (decided && onPrimary !== decided) {
        throw new Error(`node ${target.nodeName}: ${device(target)} is now device ${onPrimary}, not ${decided} as when the adoption was decided; check what the name points at`);
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

/**
 * For `cluster verify`: adopted disks whose path no longer names the device recorded
 * when it was adopted (a by-id link re-pointed, a LUN replaced), or no device at all,
 * as each instance's primary node sees it.
 */
export const adoptedDeviceProblems = async (state: ClusterState, identify: IdentifyDevice = identifyDevice, answering?: ReadonlySet<string>): Promise<{ node: string; problem: string }[]> => {
  const problems: { node: string; problem: string }[] = [];
  for (const instance of [...state.instances.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    const node = state.nodes.get(instance.primaryNodeUuid);
    // A node that did not answer is reported as such; it is not asked again here.
    if (!node || node.offline || (answering && !answering.has(node.name))) continue;
    for (const disk of instance.disks.filter((d) => d.adopted)) {
      const seen = await identify(node.name, disk.logicalId).catch((error: Error): DeviceSighting => ({ kind: 'problem', message: `could not be looked at: ${error.message}` }));
      const what = `instance ${instance.name} disk ${disk.index}`;
      if (seen.kind === 'problem') problems.push({ node: node.name, problem: `${what}: ${seen.message.replace(/^node \S+: /, '')}` });
      else if (disk.deviceNumber && seen.deviceNumber !== disk.deviceNumber) {
        problems.push({ node: node.name, problem: `${what}: ${disk.logicalId} is now device ${seen.deviceNumber} (${seen.resolved}), not ${disk.deviceNumber} as when it was adopted` });
      }
    }
  }
  return problems;
};
