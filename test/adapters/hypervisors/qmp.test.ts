import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { firstValueFrom, filter } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectQmp, QmpError, type Qmp } from '../../../src/adapters/hypervisors/qmp.js';
import { until } from '../../cli/invariants.js';

/**
 * The QMP client against a real QEMU (TCG) booting the test guest that
 * scripts/build-test-guest.sh builds from Debian packages: the guest counts once a
 * second on its console and on its disk, powers off on the ACPI button, and a restart
 * from the same disk goes on counting from where the disk says.
 */
const GUEST = resolve(import.meta.dirname, '../../../.cache/test-guest');
let work: string;
const running: ChildProcess[] = [];

const boot = (name: string, disk: string) => {
  const qmp = join(work, `${name}.qmp`);
  const serial = join(work, `${name}.serial`);
  const args = ['-machine', 'pc,accel=tcg', '-m', '128', '-nographic', '-nodefaults', '-no-user-config', '-no-reboot',
    '-kernel', join(GUEST, 'vmlinuz'), '-initrd', join(GUEST, 'initramfs.img'), '-append', 'console=ttyS0 quiet panic=-1',
    '-serial', `file:${serial}`, '-drive', `file=${disk},if=virtio,format=qcow2,cache=none`, '-qmp', `unix:${qmp},server=on,wait=off`];
  const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  running.push(child);
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return { child, qmp, serial, exited, console: () => (existsSync(serial) ? readFileSync(serial, 'utf8') : '') };
};

const connect = async (path: string): Promise<Qmp> => {
  await until(`the QMP socket ${path}`, () => existsSync(path), 10);
  return connectQmp(path);
};
const counters = (text: string) => [...text.matchAll(/^opl-counter (\d+)$/gm)].map((m) => Number(m[1]));

beforeAll(() => {
  if (!existsSync(join(GUEST, 'vmlinuz'))) throw new Error(`no test guest in ${GUEST}: run scripts/build-test-guest.sh (npm test's setup does)`);
  work = mkdtempSync(join(tmpdir(), 'opl-qmp-'));
});

afterAll(async () => {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.all(running.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
  rmSync(work, { recursive: true, force: true });
});

describe('QMP against a real QEMU booting the test guest', () => {
  it('greets, answers by id, refuses in its own words, and the guest counts; the ACPI button powers it off', async () => {
    const disk = join(work, 'disk.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '16M']);
    const vm = boot('a', disk);
    const qmp = await connect(vm.qmp);
    expect(await qmp.execute('query-status')).toMatchObject({ status: 'running', running: true });
    await expect(qmp.execute('no-such-command')).rejects.toThrow(QmpError);
    await expect(qmp.execute('no-such-command')).rejects.toMatchObject({ errorClass: 'CommandNotFound' });
    await until('the guest to count to 3', () => counters(vm.console()).includes(3), 60);
    const shutdown = firstValueFrom(qmp.events.pipe(filter((e) => e.event === 'SHUTDOWN')));
    await qmp.execute('system_powerdown');
    expect((await shutdown).data).toMatchObject({ guest: true });
    expect(await vm.exited).toBe(0);
    await qmp.closed;
    await expect(qmp.execute('query-status')).rejects.toThrow(/closed/);
    const last = Math.max(...counters(vm.console()));
    expect(execFileSync('qemu-img', ['check', disk]).toString()).toMatch(/No errors were found/);

    // The same disk, booted again: the count goes on from what the disk holds.
    const again = boot('b', disk);
    await until('the guest to boot again', () => /opl-guest: up, the disk says \d+/.test(again.console()), 60);
    const said = Number(/the disk says (\d+)/.exec(again.console())![1]);
    expect(said === last || said === last + 1).toBe(true); // its last write may have beaten the console line
    await until('it to count on', () => counters(again.console()).length >= 2, 60);
    expect(counters(again.console())[0]).toBe(said + 1);
    const q2 = await connect(again.qmp);
    await q2.execute('quit');
    await again.exited;
  });

  it('says so when there is no QEMU on the socket', async () => {
    await expect(connectQmp(join(work, 'nobody.qmp'), 500)).rejects.toThrow(/cannot reach QEMU's QMP socket .*nobody\.qmp/);
  });
});
