import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { newSite, ok } from './opl.js';

/** Real loop devices: this suite runs as root, as CI does. */
const attached: string[] = [];
const loopDevice = (file: string, sizeMib: number): string => {
  execFileSync('truncate', ['-s', `${sizeMib}M`, file]);
  const device = execFileSync('losetup', ['-f', '--show', file]).toString().trim();
  attached.push(device);
  return device;
};
const loopsOf = (file: string) => execFileSync('losetup', ['-j', file]).toString().trim();
afterAll(() => {
  for (const device of attached) {
    try {
      execFileSync('losetup', ['-d', device], { stdio: 'ignore' });
    } catch {
      // already released by the test
    }
  }
});

interface Instance { name: string; disks: { size: number; logicalId: string; adopted: boolean; device: string | null }[]; disksActive: boolean }

describe('opl: blockdev adoption on real loop devices', () => {
  it('adopts a device under an allowed prefix, reads its size, checks every node, and never destroys it', async () => {
    const site = newSite();
    const root = mkdtempSync(join(tmpdir(), 'opl-san-'));
    const byId = join(root, 'by-id');
    mkdirSync(byId);
    const device = loopDevice(join(root, 'lun1.img'), 24);
    symlinkSync(device, join(byId, 'wwn-lun1'));
    writeFileSync(join(byId, 'plain-file'), 'not a device');
    writeFileSync(device, 'precious data on the LUN');

    await ok(site.opl('cluster', 'init', 'san', '--blockdev-prefixes', byId));
    await ok(site.opl('group', 'add', 'g'));
    await ok(site.opl('node', 'add', 'n1', '--group', 'g', '--memory', '4G', '--cpus', '2'));
    await ok(site.opl('node', 'add', 'n2', '--group', 'g', '--memory', '4G', '--cpus', '2'));
    const add = (name: string, path: string) => site.opl('instance', 'add', name, '-t', 'blockdev', '--memory', '512', '--vcpus', '1', '-n', 'n1', '--disk', `0:adopt=${path}`);

    expect((await add('x', device)).stderr).toMatch(/is not under an allowed block device prefix/);
    expect((await add('x', join(byId, 'plain-file'))).stderr).toMatch(/node n1: .*plain-file is not a block device/);
    expect((await add('x', join(byId, 'missing'))).stderr).toMatch(/node n1: .*missing does not exist/);
    expect((await add('x', `${byId}/../by-id/wwn-lun1`)).stderr).toMatch(/must be an absolute path without \. or \.\. components/);

    const adopted = await add('db', join(byId, 'wwn-lun1'));
    expect(adopted.stderr).toContain('after checking it on nodes n1, n2');
    const info = await site.json<Instance>('instance', 'info', 'db');
    expect(info.disks).toMatchObject([{ size: 24, logicalId: join(byId, 'wwn-lun1'), adopted: true }]);
    expect((await add('db2', join(byId, 'wwn-lun1'))).stderr).toMatch(/already adopted by instance 'db'/);
    expect((await site.opl('instance', 'grow-disk', 'db', '0', '1G')).stderr).toMatch(/adopted devices; grow them on the storage side/);

    await ok(site.opl('instance', 'remove', 'db', '-f'));
    expect(statSync(device).isBlockDevice()).toBe(true);
    expect(readFileSync(device).subarray(0, 24).toString()).toBe('precious data on the LUN');
  });
});

describe('opl: the looppool reference driver', () => {
  it('attaches volumes as real loop block devices and releases them', async () => {
    const site = newSite();
    site.env.OPL_STORAGE_DRIVER_PATH = fileURLToPath(new URL('../../examples/drivers', import.meta.url));
    const dir = mkdtempSync(join(tmpdir(), 'opl-looppool-'));
    await ok(site.opl('cluster', 'init', 'lp'));
    await ok(site.opl('group', 'add', 'g'));
    await ok(site.opl('node', 'add', 'n1', '--group', 'g', '--memory', '4G', '--cpus', '2'));
    await ok(site.opl('cluster', 'modify', '--add-pool', 'san1', 'looppool', '--pool-param', `dir=${dir}`));
    await ok(site.opl('group', 'modify', 'g', '--connect-pool', 'san1'));
    await ok(site.opl('instance', 'add', 'vm', '-t', 'ext:san1', '--memory', '512', '--vcpus', '1', '-n', 'n1', '--disk', '0:size=16M', '--no-start'));
    const activated = await ok(site.opl('instance', 'activate-disks', 'vm'));
    const device = /^n1:disk\/0:(\/dev\/loop\d+)$/m.exec(activated.stdout)?.[1];
    expect(device).toBeDefined();
    attached.push(device!);
    expect(statSync(device!).isBlockDevice()).toBe(true);
    expect(loopsOf(join(dir, 'vm.disk0'))).toContain(device!);
    expect(await site.json<Instance>('instance', 'info', 'vm')).toMatchObject({ disksActive: true, disks: [{ device }] });

    await ok(site.opl('instance', 'grow-disk', 'vm', '0', '16M'));
    expect(Number(execFileSync('blockdev', ['--getsize64', device!]).toString()) / 1024 / 1024).toBe(32);

    expect((await site.opl('instance', 'rename', 'vm', 'vm2')).stderr).toMatch(/has active disks; deactivate them before renaming it/);
    await ok(site.opl('instance', 'deactivate-disks', 'vm'));
    expect(loopsOf(join(dir, 'vm.disk0'))).toBe('');
    await ok(site.opl('instance', 'activate-disks', 'vm'));
    await ok(site.opl('instance', 'remove', 'vm', '-f'));
    expect(loopsOf(dir)).toBe('');
    expect(execFileSync('ls', [dir]).toString()).toBe('');
  });
});
