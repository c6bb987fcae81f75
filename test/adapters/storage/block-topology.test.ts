import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { identifyDevice } from '../../../src/adapters/storage/block-devices.js';
import type { DeviceObservations, DeviceSighting } from '../../../src/domain/devices.js';
import { given } from '../../domain/decider-spec.js';
import { clusterInitialized, groupAdded, instanceAdded, nodeAdded } from '../../domain/decide/history.js';

/** Real loop devices (this suite runs as root), each detached afterwards even on failure. */
const attached: string[] = [];
const root = mkdtempSync(join(tmpdir(), 'opl-topology-'));
const attach = (file: string, ...flags: string[]): string => {
  const device = execFileSync('losetup', [...flags, '-f', '--show', file], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  attached.push(device);
  return device;
};
afterAll(() => {
  for (const device of attached) execFileSync('losetup', ['-d', device], { stdio: 'ignore' });
  rmSync(root, { recursive: true, force: true });
});

/** A file with an MBR holding one Linux partition from sector 2048 to the end (no sfdisk needed). */
const partitionedImage = (name: string, bytes: number): string => {
  const file = join(root, name);
  execFileSync('truncate', ['-s', String(bytes), file]);
  const mbr = Buffer.alloc(512);
  mbr[446 + 4] = 0x83; // partition type: Linux
  mbr.writeUInt32LE(2048, 446 + 8); // first sector
  mbr.writeUInt32LE(bytes / 512 - 2048, 446 + 12); // sectors
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, mbr, 0, 512, 0);
  } finally {
    closeSync(fd);
  }
  return file;
};

/** Waits, boundedly, for the kernel to make a device node. */
const appears = async (path: string): Promise<void> => {
  for (let i = 0; i < 100 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 20));
  if (!existsSync(path)) expect.fail(`${path} did not appear`);
};

const device = async (path: string): Promise<DeviceSighting & { kind: 'device' }> => {
  const seen = await identifyDevice('n1', path);
  if (seen.kind !== 'device') return expect.fail(`${path}: ${seen.message}`);
  return seen;
};
const cluster = [clusterInitialized({ blockdevPrefixes: ['/dev'] }), groupAdded('g1'), nodeAdded('n1', 'g1')];
const create = (name: string, path: string) =>
  ({ type: 'OP_INSTANCE_CREATE' as const, instanceName: name, diskTemplate: 'blockdev' as const, memoryMib: 1, vcpus: 1, primaryNode: 'n1', start: false, disks: [{ adopt: path }] });
const owns = (name: string, path: string, s: DeviceSighting & { kind: 'device' }) =>
  instanceAdded(name, 'n1', {
    diskTemplate: 'blockdev',
    disks: [{ index: 0, sizeMib: 16, logicalId: path, deviceNumber: s.deviceNumber, ...(s.underlying && { underlying: s.underlying }), params: {}, adopted: true }],
  });
const seen = (entries: [string, DeviceSighting][]): { devices: DeviceObservations } => ({ devices: new Map(entries) });

describe('blockdev: devices that reach the same blocks under another number', () => {
  it('tells two loop devices over one file apart by number but not by the file they read', async () => {
    const file = join(root, 'shared.img');
    execFileSync('truncate', ['-s', String(8 << 20), file]);
    const [a, b] = [attach(file), attach(file)];
    const [seenA, seenB] = [await device(a), await device(b)];
    expect(seenA.deviceNumber).not.toBe(seenB.deviceNumber);
    expect(seenA.underlying).toEqual(seenB.underlying);
    given(...cluster, owns('a1', a, seenA))
      .when(create('b', b), seen([[b, seenB]]))
      .thenRefused('in_use', `disk 0: '${b}' (device ${seenB.deviceNumber}, ${b}) reads the same file as '${a}', adopted by instance 'a1'`);
    // The same file from another offset is other blocks, so another identity.
    const shifted = await device(attach(file, '-o', String(4 << 20)));
    expect(shifted.underlying).not.toEqual(seenA.underlying);
  });

  it('refuses a partition of an adopted disk, and a disk that has partitions', async () => {
    const disk = attach(partitionedImage('parted.img', 16 << 20), '-P');
    const part = `${disk}p1`;
    // Where the kernel's own scan leaves no partition (seen in containers), partx asks for it.
    if (!existsSync(`/sys/class/block/${part.slice('/dev/'.length)}`)) execFileSync('partx', ['-a', disk], { stdio: 'ignore' });
    await appears(part);
    const [whole, partition] = [await device(disk), await device(part)];
    expect(whole.busy).toBe(`has partitions (${part.slice('/dev/'.length)})`);
    expect(partition.underlying).toContain(`device ${whole.deviceNumber}`);
    given(...cluster, owns('a1', disk, whole))
      .when(create('b', part), seen([[part, partition]]))
      .thenRefused('in_use', `disk 0: '${part}' (device ${partition.deviceNumber}, ${part}) is built on (a partition of or mapped onto) '${disk}', adopted by instance 'a1'`);
    given(...cluster, owns('a1', part, partition))
      .when(create('b', disk), seen([[disk, whole]]))
      .thenRefused('in_use', `disk 0: '${disk}' (device ${whole.deviceNumber}, ${disk}) has partitions (${part.slice('/dev/'.length)})`);
  });
});
