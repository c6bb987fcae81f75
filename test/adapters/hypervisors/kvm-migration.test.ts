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
    await hv.cleanup('n2', vm); // the destination is gone before anything is sent
    await expect(hv.live.send('n1', vm, uri)).rejects.toThrow(/^the migration of stayer from node n1 to tcp:127\.0\.0\.1:\d+ failed.*; it runs on n1 still$/);
    expect(await status('n1', 'stayer')).toBe('running');
    await hv.live.resume('n1', vm);
    await hv.live.confirm('n1', vm);
    await expect(hv.live.confirm('n2', vm)).rejects.toThrow(/^no QEMU of stayer runs on node n2$/);
    await expect(hv.live.accept('n1', vm, '127.0.0.1')).rejects.toThrow(/^stayer already runs on node n1 \('running'\): it cannot be a migration's destination there$/);
    await hv.cleanup('n1', vm);
    expect(processesWith(vm.uuid)).toEqual([]);
  });
});
