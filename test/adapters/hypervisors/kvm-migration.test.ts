import { existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createKvmHypervisor } from '../../../src/adapters/hypervisors/kvm.js';
import { connectQmp } from '../../../src/adapters/hypervisors/qmp.js';
import type { MigrationProgress } from '../../../src/domain/ports/hypervisor.js';
import { until } from '../../cli/invariants.js';
import { killGuestsIn, processesWith } from './qemu-leftovers.js';

/**
 * Live migration between two nodes of one host (their own state directories, QEMU
 * listening on loopback), with the test guest counting on a shared raw disk: the
 * counter the destination shows carries on from the source's, never going back.
 */
const GUEST = resolve(import.meta.dirname, '../../../.cache/test-guest');
const work = mkdtempSync(join(tmpdir(), 'opl-kvm-mig-'));
const hv = createKvmHypervisor({ stateDir: work, kernel: join(GUEST, 'vmlinuz'), initrd: join(GUEST, 'initramfs.img'), accel: 'tcg', shutdownTimeoutMs: 2_000 });
const counters = (file: string) => (existsSync(file) ? [...readFileSync(file, 'utf8').matchAll(/^opl-counter (\d+)$/gm)].map((m) => Number(m[1])) : []);
const last = (file: string) => counters(file).at(-1) ?? 0;
const status = async (node: string, name: string) => {
  const qmp = await connectQmp(hv.paths(node, name).qmp);
  try {
    return ((await qmp.execute('query-status')) as { status: string }).status;
  } finally {
    qmp.close();
  }
};
const guestWithDisk = (name: string, uuid: string) => {
  const disk = join(work, `${name}.img`);
  writeFileSync(disk, '');
  truncateSync(disk, 1024 * 1024);
  return { name, uuid, memoryMib: 128, vcpus: 1, hypervisor: 'kvm' as const, disks: [disk] };
};

afterAll(() => {
  killGuestsIn(['n1', 'n2'].map((node) => join(work, node, 'kvm')));
  rmSync(work, { recursive: true, force: true });
});

describe('kvm live migration', () => {
  it('moves a counting guest from n1 to n2: the destination carries on from the source, and each call asked again answers the same', async () => {
    const vm = guestWithDisk('mover', '3c5d7e9f-1a2b-4c3d-8e4f-5a6b7c8d9e01');
    await hv.start('n1', vm);
    await until('the guest to count on n1', () => last(hv.paths('n1', 'mover').serial) >= 2, 60);
    const { uri } = await hv.live.accept('n2', vm, '127.0.0.1');
    expect(uri).toMatch(/^tcp:127\.0\.0\.1:\d+$/);
    expect(await status('n2', 'mover')).toBe('inmigrate');
    expect(await hv.live.accept('n2', vm, '127.0.0.1')).toEqual({ uri }); // asked again: the same listener
    const seen: MigrationProgress[] = [];
    const stats = await hv.live.send('n1', vm, uri, (p) => seen.push(p));
    expect(stats.totalMs).toBeGreaterThan(0);
    expect(stats.bytes).toBeGreaterThan(0);
    expect(seen.every((p) => p.totalBytes >= p.transferredBytes)).toBe(true);
    expect(await status('n1', 'mover')).toBe('postmigrate');
    expect(await hv.live.send('n1', vm, uri)).toEqual(stats); // asked again: that migration's figures, no second one
    await hv.live.confirm('n2', vm);
    // Taking the migration back once it arrived would run two copies, or end the only one: both refused.
    await expect(hv.live.resume('n1', vm)).rejects.toThrow(/^the migration of mover from node n1 completed: its source is left paused, not run again beside the guest that may run on its destination$/);
    expect(await status('n1', 'mover')).toBe('postmigrate');
    await expect(hv.live.withdraw('n2', vm)).rejects.toThrow(/^mover has run on node n2 \('running'\): its migration arrived, and the guest is not ended to take the migration back$/);
    expect(await status('n2', 'mover')).toBe('running');
    const before = last(hv.paths('n1', 'mover').serial);
    await hv.cleanup('n1', vm); // paused after the migration: ended at once, no ACPI wait
    expect(await hv.running('n1')).toEqual([]);
    await until('the guest to count on n2', () => counters(hv.paths('n2', 'mover').serial).length >= 2, 60);
    const after = counters(hv.paths('n2', 'mover').serial);
    expect(after[0]).toBeGreaterThanOrEqual(before);
    expect(after[0]! - before).toBeLessThanOrEqual(2);
    expect(after).toEqual([...after].sort((a, b) => a - b));
    expect(await hv.running('n2')).toEqual(['mover']);
    await hv.cleanup('n2', vm);
    expect(processesWith(vm.uuid)).toEqual([]);
  });

  it('keeps the guest running on its source when the destination dies mid-way, and resume is harmless', async () => {
    const vm = guestWithDisk('stayer', '4d6e8f0a-2b3c-4d5e-9f6a-7b8c9d0e1f02');
    await hv.start('n1', vm);
    const { uri } = await hv.live.accept('n2', vm, '127.0.0.1');
    await hv.live.withdraw('n2', vm); // the destination, still waiting, is gone before anything is sent
    expect(await hv.running('n2')).toEqual([]);
    await expect(hv.live.send('n1', vm, uri)).rejects.toThrow(/^the migration of stayer from node n1 to tcp:127\.0\.0\.1:\d+ failed.*; it runs on n1 still$/);
    expect(await status('n1', 'stayer')).toBe('running');
    await hv.live.resume('n1', vm);
    await hv.live.confirm('n1', vm);
    await expect(hv.live.confirm('n2', vm)).rejects.toThrow(/^no QEMU of stayer runs on node n2$/);
    await expect(hv.live.accept('n1', vm, '127.0.0.1')).rejects.toThrow(/^stayer already runs on node n1 \('running'\): it cannot be a migration's destination there$/);
    await hv.cleanup('n1', vm);
    expect(processesWith(vm.uuid)).toEqual([]);
  });

  it('runs a completed migration\'s source again only when told its destination does not run the guest (it died as it arrived)', async () => {
    const vm = guestWithDisk('survivor', '5e7f9a1b-3c4d-4e5f-8a7b-8c9d0e1f2a03');
    await hv.start('n1', vm);
    await until('the guest to count on n1', () => last(hv.paths('n1', 'survivor').serial) >= 1, 60);
    const { uri } = await hv.live.accept('n2', vm, '127.0.0.1');
    await hv.live.send('n1', vm, uri);
    const before = last(hv.paths('n1', 'survivor').serial);
    await hv.cleanup('n2', vm); // the destination dies after the stream ended
    await expect(hv.live.resume('n1', vm)).rejects.toThrow(/completed: its source is left paused/);
    await hv.live.resume('n1', vm, { evenIfCompleted: true });
    expect(await status('n1', 'survivor')).toBe('running');
    await until('the guest to count on n1 again', () => last(hv.paths('n1', 'survivor').serial) > before, 60);
    await hv.cleanup('n1', vm);
    expect(processesWith(vm.uuid)).toEqual([]);
  });
});
