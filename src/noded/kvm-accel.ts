import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface AccelChoice {
  accel: 'kvm' | 'tcg';
  /** Why: what the probe saw. */
  why: string;
}

const PROBE_MS = 10_000;

/**
 * KVM when this host really boots a guest with it, TCG otherwise — decided once, when the
 * daemon starts. `/dev/kvm` existing is not enough (on some hosts Linux guests hang early
 * under it): the node's own kernel and initrd are booted under KVM, bounded, and KVM is
 * chosen only if the kernel gets as far as starting init.
 */
export const chooseAccel = async (kernel: string, initrd: string | undefined, qemu = 'qemu-system-x86_64'): Promise<AccelChoice> => {
  if (!existsSync('/dev/kvm')) return { accel: 'tcg', why: 'no /dev/kvm' };
  const dir = mkdtempSync(join(tmpdir(), 'opl-kvm-probe-'));
  const serial = join(dir, 'serial');
  const args = ['-machine', 'pc,accel=kvm', '-cpu', 'host', '-m', '128', '-display', 'none', '-nodefaults', '-no-user-config', '-no-reboot',
    '-kernel', kernel, ...(initrd ? ['-initrd', initrd] : []), '-append', 'console=ttyS0 loglevel=7 panic=-1', '-serial', `file:${serial}`];
  const child = spawn(qemu, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  // A daemon stopped while it probes must not leave the probe's QEMU behind (a KVM guest
  // that hangs never ends by itself): ended synchronously as the daemon exits.
  const endProbe = () => child.kill('SIGKILL');
  process.once('exit', endProbe);
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  // A QEMU that cannot be spawned at all reports an error and may never report an exit.
  let spawnError: Error | undefined;
  const exited = new Promise<unknown>((done) => {
    child.once('exit', done);
    child.once('error', (error) => done((spawnError = error)));
  });
  try {
    const end = Date.now() + PROBE_MS;
    while (Date.now() < end && child.exitCode === null && child.signalCode === null && !spawnError) {
      if (existsSync(serial) && /Run \S+ as init process/.test(readFileSync(serial, 'utf8'))) return { accel: 'kvm', why: 'a guest booted to init under KVM' };
      await new Promise((r) => setTimeout(r, 100));
    }
    if (spawnError) return { accel: 'tcg', why: `QEMU could not be run: ${spawnError.message}` };
    const last = stderr.trim().split('\n').at(-1);
    return { accel: 'tcg', why: child.exitCode !== null || child.signalCode !== null ? `QEMU under KVM ended: ${last || `exit ${child.exitCode}`}` : `a guest under KVM did not reach init within ${PROBE_MS / 1000} s` };
  } finally {
    process.removeListener('exit', endProbe);
    if (child.exitCode === null && child.signalCode === null && !spawnError) child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
};
