import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, createKvmHypervisor } from '../../src/adapters/hypervisors/kvm.js';
import { writeBootSector } from '../adapters/hypervisors/boot-sector.js';
import { killGuestsIn } from '../adapters/hypervisors/qemu-leftovers.js';
import { tempRoot, type RunningNoded } from '../noded/cluster-pki.js';
import { until } from './invariants.js';
import { newSite, ok, type Site } from './opl.js';
import { joinNode } from './joined-node.js';

/**
 * Instances on the kvm hypervisor through the real `opl`: two nodes whose `opl-noded`
 * was given the test guest's kernel in node.json (QEMU, under the accelerator each
 * daemon's probe chose) and one local node. `-H kvm` runs a real QEMU on the node's host.
 */
const GUEST = resolve(import.meta.dirname, '../../.cache/test-guest');
/** The example drivers: the filepool pool's disks are files the driver's attach names. */
const DRIVERS = resolve(import.meta.dirname, '../../examples/drivers');
interface InstanceRow { name: string; hypervisor: string; primaryNode: string; status: string }
let site: Site;
let root: string;
let shared: string;
const daemons = new Map<string, { daemon: RunningNoded; dir: string }>();

const join_ = async (name: string) => {
  const nodeJson = { name, storageDirs: [shared], driverDirs: [DRIVERS], kvm: { kernel: join(GUEST, 'vmlinuz'), initrd: join(GUEST, 'initramfs.img'), shutdownTimeoutSeconds: 3 } };
  daemons.set(name, await joinNode(site, root, name, { args: [], prepare: (dir) => writeFileSync(join(dir, 'node.json'), JSON.stringify(nodeJson)) }));
};
const guests = (node: string) => {
  const dir = join(daemons.get(node)!.dir, 'hypervisor', node, 'kvm');
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.pid')).map((f) => f.slice(0, -4)) : [];
};
const qemuOf = (node: string, name: string) => {
  const pid = Number(readFileSync(join(daemons.get(node)!.dir, 'hypervisor', node, 'kvm', `${name}.pid`), 'utf8'));
  return { pid, args: readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0') };
};
interface Job { id: number; opcodes: { log: { message: string }[]; migration?: { totalMs: number; downtimeMs: number; bytes: number } }[] }
const lastJob = async () => {
  const jobs = await site.json<{ id: number }[]>('job', 'list');
  return site.json<Job>('job', 'info', String(Math.max(...jobs.map((j) => j.id))));
};
/** A guest's serial console file on a node, and the counts it printed there. */
const serialOf = (name: string) => (node: string) => join(daemons.get(node)!.dir, 'hypervisor', node, 'kvm', `${name}.serial`);
const countsOf = (name: string) => (node: string) => {
  const file = serialOf(name)(node);
  return existsSync(file) ? [...readFileSync(file, 'utf8').matchAll(/^opl-counter (\d+)$/gm)].map((m) => Number(m[1])) : [];
};
const row = async (name: string) => (await site.json<InstanceRow[]>('instance', 'list')).find((i) => i.name === name);

beforeAll(async () => {
  if (!existsSync(join(GUEST, 'vmlinuz'))) throw new Error(`no test guest in ${GUEST}: run scripts/build-test-guest.sh (npm test's setup does)`);
  site = newSite();
  root = tempRoot();
  shared = join(root, 'shared');
  mkdirSync(shared);
  await ok(site.opl('cluster', 'init', 'c1', '--enabled-hypervisors', 'fake,kvm', '--shared-file-storage-dir', shared));
  await ok(site.opl('group', 'add', 'g1'));
  await ok(site.opl('node', 'add', 'local1', '--group', 'g1', '--memory', '4G', '--cpus', '2'));
  site.env.OPL_STORAGE_DRIVER_PATH = DRIVERS;
  await ok(site.opl('cluster', 'modify', '--add-pool', 'fp', 'filepool', '--pool-param', `dir=${join(root, 'pool')}`));
  await ok(site.opl('group', 'modify', 'g1', '--connect-pool', 'fp'));
  await Promise.all([join_('n1'), join_('n2')]);
}, 120_000);

afterAll(async () => {
  await Promise.all([...daemons.values()].map((d) => d.daemon.stop()));
  killGuestsIn([...daemons.entries()].map(([node, { dir }]) => join(dir, 'hypervisor', node, 'kvm')));
  rmSync(root, { recursive: true, force: true });
  rmSync(site.dataDir, { recursive: true, force: true });
});

describe('instances on the kvm hypervisor', () => {
  it('runs -H kvm as a QEMU on its node, named and identified as the instance; the cluster says what it enables', async () => {
    expect((await ok(site.opl('cluster', 'info'))).stdout).toMatch(/^Enabled hypervisors: +fake, kvm$/m);
    await ok(site.opl('instance', 'add', 'vm1', '-t', 'diskless', '--memory', '128M', '--vcpus', '1', '-n', 'n1', '-H', 'kvm'));
    expect(guests('n1')).toEqual(['vm1']);
    const info = await site.json<{ uuid: string; hypervisor: string }>('instance', 'info', 'vm1');
    expect(info.hypervisor).toBe('kvm');
    const { args } = qemuOf('n1', 'vm1');
    expect(args).toEqual(expect.arrayContaining(['-name', 'vm1', '-uuid', info.uuid, '-m', '128']));
    expect(await row('vm1')).toMatchObject({ hypervisor: 'kvm', primaryNode: 'n1', status: 'running' });
    await ok(site.opl('instance', 'add', 'vm2', '-t', 'diskless', '--memory', '128M', '--vcpus', '1', '-n', 'n1'));
    expect(await row('vm2')).toMatchObject({ hypervisor: 'fake', status: 'running' });
    expect(guests('n1')).toEqual(['vm1']);
  });

  it('refuses kvm on a local node and parameters it does not take, in one line, recording nothing', async () => {
    const before = await site.json<unknown[]>('instance', 'list');
    const add = (...more: string[]) => site.opl('instance', 'add', 'vm3', '-t', 'diskless', '--memory', '128M', '--vcpus', '1', '-n', 'n1', ...more);
    const local = await site.opl('instance', 'add', 'vm3', '-t', 'diskless', '--memory', '128M', '--vcpus', '1', '-n', 'local1', '-H', 'kvm');
    expect(local.code).toBe(1);
    expect(local.stderr.trim()).toMatch(/^opl: job \d+ failed: node 'local1' is a local node \(no opl-noded\): kvm guests run only on nodes added with --address \(invalid_argument\)$/);
    const refusals: [string[], string][] = [
      [['-H', 'kvm:kernel_path=boot/x'], `-H 'kvm:kernel_path=boot/x': kernel_path "boot/x" is not an absolute path (expected a file on the node, such as /boot/vmlinuz)`],
      [['-H', 'kvm:memory=512'], "-H 'kvm:memory=512': kvm has no parameter 'memory' (it takes kernel_path, initrd_path, kernel_args, boot_order)"],
      [['-H', 'fake:kernel_path=/boot/x'], "-H 'fake:kernel_path=/boot/x': hypervisor 'fake' takes no parameters (given: kernel_path); only kvm does"],
      [['-H', 'xen:kernel_path=/boot/x'], "-H 'xen:kernel_path=/boot/x': no hypervisor is named 'xen' (expected fake or kvm)"],
      [['-H', 'kvm:kernel_path'], `-H 'kvm:kernel_path': expected PARAM=VALUE after 'kvm:', got "kernel_path"`],
      [['-H', 'kvm:boot_order=cdrom'], "-H 'kvm:boot_order=cdrom': boot_order 'cdrom' is not one opledger's kvm has: a guest without a kernel boots only from its first disk ('disk')"],
      [['-H', 'kvm:kernel_path=,kernel_args=quiet'], "-H 'kvm:kernel_path=,kernel_args=quiet': kernel_path is empty, so the guest boots from its disk: initrd_path and kernel_args need a kernel to go with"],
    ];
    for (const [more, said] of refusals) expect(await add(...more)).toMatchObject({ code: 2, stderr: `opl: instance add: ${said}\n` });
    // Known only once the engine decides (no disk to boot from) or the node looks (no such file there): a failed job, nothing kept.
    const diskless = await add('-H', 'kvm:kernel_path=');
    expect(diskless.stderr.trim()).toMatch(/^opl: job \d+ failed: -H kvm: kernel_path is empty, so the guest boots from its first disk, but it has no disk \(give one with --disk, or a -t other than diskless\) \(invalid_argument\)$/);
    const missing = await add('-H', 'kvm:kernel_path=/nonexistent/vmlinuz');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/QEMU did not start vm3 on node n1: its kernel_path \/nonexistent\/vmlinuz is not a file there/);
    expect(await site.json<unknown[]>('instance', 'list')).toEqual(before);
    expect(guests('n1')).toEqual(['vm1']);
  });

  it("takes Ganeti's kvm parameters: its own kernel and command line; or no kernel, booting its first disk, kept when it migrates live", async () => {
    const kernelArgs = 'console=ttyS0,115200 quiet panic=-1 opl.test=vmk';
    await ok(site.opl('instance', 'add', 'vmk', '-t', 'diskless', '--memory', '128M', '--vcpus', '1', '-n', 'n1', '-H', `kvm:kernel_path=${join(GUEST, 'vmlinuz')},initrd_path=${join(GUEST, 'initramfs.img')},kernel_args=${kernelArgs}`));
    const { args } = qemuOf('n1', 'vmk');
    expect(args[args.indexOf('-append') + 1]).toBe(kernelArgs);
    expect(args[args.indexOf('-kernel') + 1]).toBe(join(GUEST, 'vmlinuz'));
    expect(await site.json<{ hypervisorParams: unknown }>('instance', 'info', 'vmk')).toMatchObject({ hypervisorParams: { kernel_path: join(GUEST, 'vmlinuz'), initrd_path: join(GUEST, 'initramfs.img'), kernel_args: kernelArgs } });
    expect((await ok(site.opl('instance', 'info', 'vmk'))).stdout).toMatch(new RegExp(`^ +kernel_args: +${kernelArgs.replace(/[.]/g, '\\.')}$`, 'm'));
    // modify -H as Ganeti's: kernel_args=default drops it (the node's again), taken at the next start.
    await ok(site.opl('instance', 'modify', 'vmk', '-H', 'kernel_args=default'));
    expect(await site.json<{ hypervisorParams: unknown }>('instance', 'info', 'vmk')).toMatchObject({ hypervisorParams: { kernel_path: join(GUEST, 'vmlinuz'), initrd_path: join(GUEST, 'initramfs.img') } });
    await ok(site.opl('instance', 'reboot', 'vmk'));
    const again = qemuOf('n1', 'vmk').args;
    expect(again[again.indexOf('-append') + 1]).toBe('console=ttyS0 quiet panic=-1');
    const noDisk = await site.opl('instance', 'modify', 'vmk', '-H', 'kernel_path=,initrd_path=default');
    expect(noDisk.stderr.trim()).toMatch(/^opl: job \d+ failed: -H kvm: kernel_path is empty, so the guest boots from its first disk, but instance 'vmk' has no disk \(invalid_argument\)$/);
    expect(await site.opl('instance', 'modify', 'vmk', '-H', 'kernel_path')).toMatchObject({ code: 2, stderr: `opl: instance modify: -H 'kernel_path': expected PARAM=VALUE in -H, got "kernel_path"\n` });
    await ok(site.opl('instance', 'remove', '-f', 'vmk'));
    // A disk that boots: a boot sector that prints a line on the first serial port and halts.
    await ok(site.opl('instance', 'add', 'vmb', '-t', 'sharedfile', '--disk', '0:size=1M', '--memory', '128M', '--vcpus', '1', '-n', 'n1', '-H', 'kvm:kernel_path=', '--no-start'));
    const disk = readdirSync(shared, { recursive: true }).map(String).find((f) => f.startsWith('vmb') && f.endsWith('disk0'));
    writeBootSector(join(shared, disk!), 'opledger: booted from disk');
    await ok(site.opl('instance', 'startup', 'vmb'));
    await until('vmb to boot from its disk', () => existsSync(serialOf('vmb')('n1')) && readFileSync(serialOf('vmb')('n1'), 'utf8').includes('opledger: booted from disk'), 60);
    expect(qemuOf('n1', 'vmb').args).not.toContain('-kernel');
    await ok(site.opl('instance', 'migrate', 'vmb', '-n', 'n2'));
    expect(await row('vmb')).toMatchObject({ primaryNode: 'n2', status: 'running' });
    expect(qemuOf('n2', 'vmb').args).toEqual(expect.arrayContaining(['-boot', 'order=c']));
    expect(qemuOf('n2', 'vmb').args).not.toContain('-kernel');
    // It hears no power button: reboot --type full gives it the second asked for, lets go of its disk between, and it boots again.
    const before = qemuOf('n2', 'vmb').pid;
    await ok(site.opl('instance', 'reboot', 'vmb', '--type', 'full', '--shutdown-timeout', '1'));
    expect(alive(before)).toBe(false);
    const said = (await lastJob()).opcodes[0]!.log.map((l) => l.message);
    const at = (start: string) => said.findIndex((m) => m.startsWith(start));
    expect(at('stopping instance vmb on node n2 (given 1 s to power down)')).toBeGreaterThanOrEqual(0);
    expect(at('detaching disk 0 of vmb')).toBeGreaterThan(at('stopping instance vmb'));
    expect(at('starting instance vmb on node n2')).toBeGreaterThan(at('detaching disk 0 of vmb'));
    expect(await row('vmb')).toMatchObject({ primaryNode: 'n2', status: 'running' });
    await until('vmb to boot its disk again on n2', () => readFileSync(serialOf('vmb')('n2'), 'utf8').includes('opledger: booted from disk'), 60);
    // failover --shutdown-timeout: stopped on its source after the second given, started on the target.
    const rebooted = qemuOf('n2', 'vmb').pid;
    await ok(site.opl('instance', 'failover', 'vmb', '-n', 'n1', '--shutdown-timeout', '1'));
    expect(alive(rebooted)).toBe(false);
    expect((await lastJob()).opcodes[0]!.log.map((l) => l.message)).toContain('stopping instance vmb on node n2 (given 1 s to power down)');
    expect(await row('vmb')).toMatchObject({ primaryNode: 'n1', status: 'running' });
    const failedOver = qemuOf('n1', 'vmb').pid;
    await ok(site.opl('instance', 'stop', 'vmb', '--timeout', '0'));
    expect(alive(failedOver)).toBe(false);
    expect((await lastJob()).opcodes[0]!.log.map((l) => l.message)).toContain('stopping instance vmb on node n1 (ended at once, not powered down)');
    expect(await site.opl('instance', 'remove', '-f', 'vmb', '--shutdown-timeout', 'soon')).toMatchObject({ code: 2, stderr: "opl: instance remove: --shutdown-timeout 'soon': expected a number\n" });
    expect(await site.opl('instance', 'stop', 'vmb', '--timeout', '151')).toMatchObject({ code: 2, stderr: "opl: instance stop: --timeout '151': the shutdown timeout is at most 150 seconds\n" });
    expect(await site.opl('instance', 'reboot', 'vmb', '--type', 'warm')).toMatchObject({ code: 2, stderr: "opl: instance reboot: --type 'warm': expected one of soft, hard, full\n" });
    await ok(site.opl('instance', 'remove', '-f', 'vmb'));
  });

  it('migrates a running kvm guest live, QEMU to QEMU, recording what it cost; and back not live (stopped, started)', async () => {
    const before = qemuOf('n1', 'vm1').pid;
    const live = await ok(site.opl('instance', 'migrate', 'vm1', '-n', 'n2'));
    expect(alive(before)).toBe(false);
    expect(guests('n1')).toEqual([]);
    expect(guests('n2')).toEqual(['vm1']);
    expect(await row('vm1')).toMatchObject({ primaryNode: 'n2', status: 'running' });
    const op = (await lastJob()).opcodes[0]!;
    const said = op.log.map((l) => l.message);
    const order = ['preparing node n2 to receive instance vm1 live', 'migrating instance vm1 live from node n1 to node n2', 'checking that instance vm1 runs on node n2', 'cleaning up instance vm1 on node n1'];
    const at = order.map((line) => said.findIndex((m) => m.startsWith(line)));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect(at).toEqual([...at].sort((a, b) => a - b));
    const migration = op.migration!;
    expect(migration.totalMs).toBeGreaterThan(0);
    expect(migration.bytes).toBeGreaterThan(0);
    expect(said.join('\n')).toMatch(new RegExp(`^migrated vm1 to node n2 in \\d+\\.\\d\\d s: downtime ${migration.downtimeMs} ms, \\d+ MiB sent$`, 'm'));
    expect(live.stdout + live.stderr).toMatch(/migrated vm1 to node n2 in/);
    const onN2 = qemuOf('n2', 'vm1').pid;
    await ok(site.opl('instance', 'migrate', 'vm1', '-n', 'n1', '--non-live'));
    expect(alive(onN2)).toBe(false);
    expect(guests('n2')).toEqual([]);
    expect(guests('n1')).toEqual(['vm1']);
    expect(await row('vm1')).toMatchObject({ primaryNode: 'n1', status: 'running' });
  });

  it('migrates a guest counting on its sharedfile disk live and back: the count carries on, never going back, and the disk holds it', async () => {
    await ok(site.opl('instance', 'add', 'vmd', '-t', 'sharedfile', '--disk', '0:size=4M', '--memory', '128M', '--vcpus', '1', '-n', 'n1', '-H', 'kvm'));
    const serial = serialOf('vmd');
    const counted = countsOf('vmd');
    expect(readFileSync(serial('n1'), 'utf8')).not.toMatch(/no \/dev\/vda/);
    await until('vmd to count on n1', () => counted('n1').length >= 2, 90);
    const seen: number[] = [];
    for (const [from, to] of [['n1', 'n2'], ['n2', 'n1']] as const) {
      const before = counted(from).at(-1)!;
      const began = Date.now();
      await ok(site.opl('instance', 'migrate', 'vmd', '-n', to));
      const tookSeconds = Math.ceil((Date.now() - began) / 1000);
      expect(await row('vmd')).toMatchObject({ primaryNode: to, status: 'running' });
      await until(`vmd to count on ${to}`, () => counted(to).length >= 2, 60);
      const after = counted(to);
      // The guest's memory came along: it goes on from where it was, one a second, never back.
      expect(after[0]!).toBeGreaterThan(before);
      expect(after[0]! - before).toBeLessThanOrEqual(tookSeconds + 2);
      expect(after.every((n, i) => i === 0 || n === after[i - 1]! + 1)).toBe(true);
      seen.push(before, ...after);
    }
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    const disk = readdirSync(shared, { recursive: true }).map(String).find((f) => f.startsWith('vmd') && f.endsWith('disk0'));
    expect(disk).toBeDefined();
    // What QEMU says of it, and its console, read on its node.
    const pid = qemuOf('n1', 'vmd').pid;
    expect((await ok(site.opl('instance', 'info', 'vmd'))).stdout).toMatch(new RegExp(`^QEMU: +running, pid ${pid}, 128 MiB$`, 'm'));
    expect(await site.json<{ qemu: unknown }>('instance', 'info', 'vmd')).toMatchObject({ qemu: { status: 'running', pid, memoryMib: 128 } });
    const shown = (await ok(site.opl('instance', 'console', 'vmd'))).stdout;
    // Here since it came back from n2: what its QEMU on n1 has written (it may have written more since), its lines' \r dropped.
    expect(shown.length).toBeGreaterThan(0);
    expect(readFileSync(serial('n1'), 'utf8').replace(/\r/g, '').startsWith(shown)).toBe(true);
    expect(shown.split('\n').filter((l) => l.startsWith('opl-counter ')).length).toBeGreaterThan(1);
    const piece = await site.json<{ instance: string; node: string; offset: number; size: number; console: string }>('instance', 'console', 'vmd');
    expect(piece).toMatchObject({ instance: 'vmd', node: 'n1', offset: 0 });
    expect(piece.console.length).toBeLessThanOrEqual(piece.size);
    expect(piece.console).toMatch(/opl-counter \d+\r?\n/); // as the guest wrote it
    // --follow prints what the guest writes after it began, until interrupted.
    const from = counted('n1').at(-1)!;
    const follower = site.spawn('instance', 'console', 'vmd', '--follow');
    let followed = '';
    follower.stdout!.on('data', (chunk: Buffer) => (followed += chunk.toString()));
    const exited = new Promise<number | null>((done) => follower.on('exit', (code, signal) => done(code ?? (signal ? -1 : null))));
    try {
      await until('the follower to print a count written after it began', () => [...followed.matchAll(/^opl-counter (\d+)$/gm)].some((m) => Number(m[1]) > from + 1), 30);
    } finally {
      follower.kill('SIGINT');
    }
    expect(await exited).not.toBe(0);
    // Migrated behind opl's back (QEMU to QEMU, as the nodes' own adapter does it): the
    // source is left paused in postmigrate, the guest runs on n2. migrate --cleanup asks
    // QEMU on each node, records the move, and lets go of the paused copy — never of the guest.
    const source = qemuOf('n1', 'vmd');
    const drive = source.args[source.args.indexOf('-drive') + 1]!;
    const behind = (node: string) => createKvmHypervisor({ stateDir: join(daemons.get(node)!.dir, 'hypervisor'), kernel: join(GUEST, 'vmlinuz'), initrd: join(GUEST, 'initramfs.img'), accel: 'tcg' }).live;
    const vmd = { name: 'vmd', uuid: source.args[source.args.indexOf('-uuid') + 1]!, memoryMib: 128, vcpus: 1, disks: [/^file=([^,]+),/.exec(drive)![1]!] };
    const { uri } = await behind('n2').accept('n2', vmd, '127.0.0.1');
    await behind('n1').send('n1', vmd, uri);
    const before = counted('n1').at(-1)!;
    await ok(site.opl('instance', 'migrate', 'vmd', '--cleanup'));
    expect((await lastJob()).opcodes[0]!.log.map((l) => l.message)).toContain(
      "cleanup: asked n1, n2: vmd runs on n2; a copy that is not the guest on n1 (QEMU on n1 says 'postmigrate', QEMU on n2 says 'running'); its disks may be attached on no node but its primary",
    );
    expect(alive(source.pid)).toBe(false);
    expect(await row('vmd')).toMatchObject({ primaryNode: 'n2', status: 'running' });
    await until('vmd to count on n2 after the cleanup', () => counted('n2').some((n) => n > before + 1), 30);
    await ok(site.opl('instance', 'shutdown', 'vmd'));
    expect((await ok(site.opl('instance', 'info', 'vmd'))).stdout).toMatch(/^QEMU: +none runs on node n2$/m);
    const last = counted('n2').at(-1)!;
    const record = `opl-counter ${String(last).padStart(16, '0')}\n`;
    expect(readFileSync(join(shared, disk!)).subarray(0, record.length).toString()).toBe(record);
    await ok(site.opl('instance', 'remove', '-f', 'vmd'));
  });

  it("migrates a guest counting on an ext disk (the filepool driver's file, as its attach printed it on each node) live and back", async () => {
    await ok(site.opl('instance', 'add', 'vme', '-t', 'ext:fp', '--disk', '0:size=4M', '--memory', '128M', '--vcpus', '1', '-n', 'n1', '-H', 'kvm'));
    const volume = join(root, 'pool', 'vme.disk0');
    expect(qemuOf('n1', 'vme').args).toContain(`file=${volume},if=virtio,format=raw,cache=writeback`);
    const counted = countsOf('vme');
    await until('vme to count on n1', () => counted('n1').length >= 2, 90);
    const seen: number[] = [];
    for (const [from, to] of [['n1', 'n2'], ['n2', 'n1']] as const) {
      const before = counted(from).at(-1)!;
      await ok(site.opl('instance', 'migrate', 'vme', '-n', to));
      expect(await row('vme')).toMatchObject({ primaryNode: to, status: 'running' });
      await until(`vme to count on ${to}`, () => counted(to).some((n) => n > before + 1), 60);
      const after = counted(to);
      expect(after[0]!).toBeGreaterThan(before);
      expect(after.every((n, i) => i === 0 || n === after[i - 1]! + 1)).toBe(true);
      seen.push(before, ...after);
    }
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    await ok(site.opl('instance', 'shutdown', 'vme'));
    const last = counted('n1').at(-1)!;
    expect(readFileSync(volume).subarray(0, 28).toString()).toBe(`opl-counter ${String(last).padStart(16, '0')}`);
    await ok(site.opl('instance', 'remove', '-f', 'vme'));
    expect(existsSync(volume)).toBe(false);
  });

  it('refuses a console where there is none, in one line: a fake guest, an unknown instance, --follow with json', async () => {
    expect(await site.opl('instance', 'console', 'vm2')).toMatchObject({ code: 1, stderr: "opl: instance console: instance 'vm2' runs on the fake hypervisor, which has no console (kvm guests have one)\n" });
    expect(await site.opl('instance', 'console', 'nosuch')).toMatchObject({ code: 1, stderr: "opl: instance console: instance 'nosuch' does not exist\n" });
    expect(await site.opl('instance', 'console', 'vm1', '--follow', '--output', 'json')).toMatchObject({ code: 2, stderr: 'opl: instance console: --follow prints the console as it comes; it has no --output json\n' });
    expect((await ok(site.opl('instance', 'info', 'vm2'))).stdout).not.toMatch(/^QEMU:/m);
  });

  it('reboots it on its node: its QEMU stopped and another started there, running', async () => {
    const before = qemuOf('n1', 'vm1').pid;
    await ok(site.opl('instance', 'reboot', 'vm1'));
    expect(alive(before)).toBe(false);
    expect(qemuOf('n1', 'vm1').pid).not.toBe(before);
    expect(await row('vm1')).toMatchObject({ primaryNode: 'n1', status: 'running' });
    const said = (await lastJob()).opcodes[0]!.log.map((l) => l.message);
    expect(said.findIndex((m) => m.startsWith('stopping instance vm1 on node n1'))).toBeLessThan(said.findIndex((m) => m.startsWith('starting instance vm1 on node n1')));
  });

  it('stops it (ACPI, then QEMU ended), will not disable kvm while it is used, and removes it', async () => {
    const { pid } = qemuOf('n1', 'vm1');
    await ok(site.opl('instance', 'shutdown', 'vm1'));
    expect(alive(pid)).toBe(false);
    expect(await row('vm1')).toMatchObject({ status: 'ADMIN_down' });
    const disable = await site.opl('cluster', 'modify', '--enabled-hypervisors', 'fake');
    expect(disable.code).toBe(1);
    expect(disable.stderr).toMatch(/hypervisor 'kvm' is still used by instance 'vm1'/);
    await ok(site.opl('instance', 'remove', '-f', 'vm1'));
    await ok(site.opl('cluster', 'modify', '--enabled-hypervisors', 'fake'));
    expect(guests('n1')).toEqual([]);
  });
});
