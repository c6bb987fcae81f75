import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createBlockDeviceStorage, identifyDevice } from '../../../src/adapters/storage/block-devices.js';
import type { DiskTarget } from '../../../src/domain/ports/disk-storage.js';

/** Real loop devices (this suite runs as root, as CI does), each detached afterwards. */
const attached: string[] = [];
const root = mkdtempSync(join(tmpdir(), 'opl-blockdev-'));
const loopDevice = (name: string, bytes: number): string => {
  const file = join(root, name);
  execFileSync('truncate', ['-s', String(bytes), file]);
  const device = execFileSync('losetup', ['-f', '--show', file], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  attached.push(device);
  return device;
};
afterAll(() => {
  for (const device of attached) execFileSync('losetup', ['-d', device], { stdio: 'ignore' });
  rmSync(root, { recursive: true, force: true });
});
const ctx = { recordCall: async () => undefined, log: async () => undefined };
const target = (path: string, deviceNumber?: string): DiskTarget => ({
  nodeName: 'n1',
  template: 'blockdev',
  instance: { name: 'db', uuid: 'u', tags: [] },
  disk: { index: 0, sizeMib: 0, logicalId: path, params: {}, adopted: true, ...(deviceNumber && { deviceNumber }) },
  peers: ['n1', 'n2'],
});

describe('blockdev: what a path resolves to', () => {
  it('names one device the same under every spelling and every link to it', async () => {
    const device = loopDevice('lun.img', 16 << 20);
    const byId = join(root, 'by-id');
    mkdirSync(byId);
    symlinkSync(device, join(byId, 'wwn-1'));
    symlinkSync(join(byId, 'wwn-1'), join(byId, 'scsi-1')); // a link to a link
    // What coreutils' stat says the device's major and minor are, in decimal.
    const deviceNumber = execFileSync('stat', ['-c', '%Hr:%Lr', device]).toString().trim();
    // A loop device is also known by the file it reads (st_dev:st_ino, offset, size limit).
    const file = execFileSync('stat', ['-c', '%d:%i', join(root, 'lun.img')]).toString().trim();
    const expected = { kind: 'device', deviceNumber, sizeBytes: 16 << 20, resolved: device, underlying: [`file ${file}@0+0`] };
    for (const path of [device, join(byId, 'wwn-1'), `${byId}//wwn-1`, join(byId, 'scsi-1')]) expect(await identifyDevice('n1', path)).toEqual(expected);
  });

  it('says what a path is when it is no device', async () => {
    writeFileSync(join(root, 'plain'), 'x');
    expect(await identifyDevice('n1', join(root, 'plain'))).toEqual({ kind: 'problem', message: `node n1: ${join(root, 'plain')} is not a block device` });
    expect(await identifyDevice('n2', join(root, 'missing'))).toEqual({ kind: 'problem', message: `node n2: ${join(root, 'missing')} does not exist` });
  });

  it('adopts only the device decided on, and never an empty one', async () => {
    const storage = createBlockDeviceStorage();
    const lun = loopDevice('a.img', 8 << 20);
    const other = loopDevice('b.img', 8 << 20);
    const empty = loopDevice('empty.img', 0);
    const link = join(root, 'lun-link');
    symlinkSync(lun, link);
    const decided = await identifyDevice('n1', link);
    if (decided.kind !== 'device') expect.fail('expected a device');
    expect(await storage.create(target(link, decided.deviceNumber), ctx)).toEqual({ logicalId: link, sizeMib: 8 });
    // The name now points at another device: adopting it would take the wrong LUN.
    rmSync(link);
    symlinkSync(other, link);
    await expect(storage.create(target(link, decided.deviceNumber), ctx)).rejects.toThrow(
      new RegExp(`^node n1: ${link} is now device \\d+:\\d+, not ${decided.deviceNumber} as when the adoption was decided`),
    );
    expect(await identifyDevice('n1', empty)).toMatchObject({ kind: 'device', sizeBytes: 0 });
    await expect(storage.create(target(empty), ctx)).rejects.toThrow(/^node n1: .* is empty \(0 bytes\)$/);
    const tiny = loopDevice('tiny.img', 512 * 1024);
    await expect(storage.create(target(tiny), ctx)).rejects.toThrow(/^node n1: .* holds 524288 bytes, less than 1 MiB$/);
  });
});
