import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { alive, createKvmHypervisor } from '../../../src/adapters/hypervisors/kvm.js';
import { connectQmp } from '../../../src/adapters/hypervisors/qmp.js';
import { writeBootSector } from './boot-sector.js';
import { hypervisorContract } from './contract.js';
import { killGuestsIn, processesWith } from './qemu-leftovers.js';

/** The kvm hypervisor against real QEMU (TCG), booting the test guest (scripts/build-test-guest.sh). */
const GUEST = resolve(import.meta.dirname, '../../../.cache/test-guest');
const work = mkdtempSync(join(tmpdir(), 'opl-kvm-'));
const kvm = () => createKvmHypervisor({ stateDir: work, kernel: join(GUEST, 'vmlinuz'), initrd: join(GUEST, 'initramfs.img'), accel: 'tcg', shutdownTimeoutMs: 2_000 });
afterAll(() => {
  killGuestsIn(['n1', 'n2', 'n3'].map((node) => join(work, node, 'kvm')));
  rmSync(work, { recursive: true, force: true });
});

if (!existsSync(join(GUEST, 'vmlinuz'))) throw new Error(`no test guest in ${GUEST}: run scripts/build-test-guest.sh (npm test's setup does)`);

hypervisorContract('kvm (QEMU under TCG)', () => ({ hypervisor: kvm(), node: 'n1', otherNode: 'n2' }));

describe('kvm hypervisor', () => {
  it('runs a guest as a QEMU named and identified by the instance, with its QMP socket and serial console', async () => {
    const hv = kvm();
    const vm = { name: 'ident', uuid: '6f1c1a52-3b9e-4f39-9d7e-0c1f3b1d2a10', memoryMib: 128, vcpus: 1 };
    await hv.start('n3', vm);
    const p = hv.paths('n3', 'ident');
    const pid = Number(readFileSync(p.pid, 'utf8'));
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    expect(args.slice(args.indexOf('-name'), args.indexOf('-name') + 2)).toEqual(['-name', 'ident']);
    expect(args.slice(args.indexOf('-uuid'), args.indexOf('-uuid') + 2)).toEqual(['-uuid', vm.uuid]);
    expect(args).toContain('pc,accel=tcg');
    const qmp = await connectQmp(p.qmp);
    expect(await qmp.execute('query-name')).toEqual({ name: 'ident' });
    expect(await qmp.execute('query-uuid')).toEqual({ UUID: vm.uuid });
    qmp.close();
    await hv.stop('n3', vm);
    expect(alive(pid)).toBe(false);
    expect(existsSync(p.serial)).toBe(true); // the console stays for `instance console` until cleanup
    await hv.cleanup('n3', vm);
    expect(existsSync(p.serial)).toBe(false);
  });

  it("ends a guest that does not hear the power button after the timeout its stop was given, not the hypervisor's own; at once when it is 0", async () => {
    // The hypervisor's own timeout is ten minutes: a stop that did not honour its own would outlast this test's bound.
    const hv = createKvmHypervisor({ stateDir: work, kernel: join(GUEST, 'vmlinuz'), accel: 'tcg', shutdownTimeoutMs: 600_000 });
    const disk = join(work, 'deaf.img');
    writeFileSync(disk, Buffer.alloc(1024 * 1024));
    writeBootSector(disk, 'opledger: booted from disk');
    const vm = { name: 'deaf', uuid: '3c0e5a8e-7f55-4d1b-9a55-1d2e3f4a5b6c', memoryMib: 64, vcpus: 1, disks: [disk], hvParams: { kernel_path: '' } };
    for (const timeoutSeconds of [1, 0]) {
      await hv.start('n3', vm);
      const p = hv.paths('n3', 'deaf');
      const pid = Number(readFileSync(p.pid, 'utf8'));
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      expect(args).not.toContain('-kernel');
      const end = Date.now() + 30_000;
      while (!readFileSync(p.serial, 'utf8').includes('opledger: booted from disk') && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
      expect(readFileSync(p.serial, 'utf8')).toContain('opledger: booted from disk');
      await hv.stop('n3', vm, { timeoutSeconds });
      expect(alive(pid)).toBe(false);
    }
    await hv.cleanup('n3', vm);
    await expect(hv.start('n3', { ...vm, disks: [] })).rejects.toThrow('deaf boots from its first disk (kernel_path is empty) but was given no disk on node n3');
  }, 90_000);

  it('starts a guest once however many starts race, and refuses a second guest of the same name', async () => {
    const hv = kvm();
    const vm = { name: 'racy', uuid: '0b6a1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d', memoryMib: 128, vcpus: 1 };
    await Promise.all([hv.start('n3', vm), hv.start('n3', vm), hv.start('n3', vm)]);
    const withUuid = processesWith(vm.uuid);
    expect(withUuid).toHaveLength(1);
    await expect(hv.start('n3', { ...vm, uuid: '0b6a1c2d-3e4f-4a5b-8c6d-000000000000' })).rejects.toThrow(/^another guest named racy \(uuid 0b6a1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d, pid \d+\) runs on node n3; stop it first$/);
    await Promise.all([hv.stop('n3', vm), hv.start('n3', vm)]); // in the order asked: stopped, then started again
    expect(await hv.running('n3')).toEqual(['racy']);
    await hv.cleanup('n3', vm);
    expect(await hv.running('n3')).toEqual([]);
  });

  it('never takes another process for a guest: a pid file naming one is not running, and stop leaves it alone', async () => {
    const hv = kvm();
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const dir = join(work, 'n3', 'kvm');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'impostor.pid'), `${other.pid}\n`);
      writeFileSync(join(dir, 'impostor.uuid'), '00000000-0000-4000-8000-000000000001\n');
      expect(await hv.running('n3')).toEqual([]);
      await hv.stop('n3', { name: 'impostor', uuid: '00000000-0000-4000-8000-000000000001', memoryMib: 128, vcpus: 1 });
      expect(other.exitCode).toBeNull();
      expect(alive(other.pid!)).toBe(true);
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('says in one line why QEMU did not start, and leaves nothing behind', async () => {
    const hv = createKvmHypervisor({ stateDir: work, kernel: join(work, 'no-such-kernel'), accel: 'tcg' });
    await expect(hv.start('n3', { name: 'broken', uuid: 'u-broken', memoryMib: 128, vcpus: 1 })).rejects.toThrow(/^QEMU did not start broken on node n3: .*no-such-kernel/);
    expect(await hv.running('n3')).toEqual([]);
    expect(existsSync(join(work, 'n3', 'kvm', 'broken.pid'))).toBe(false);
  });
});
