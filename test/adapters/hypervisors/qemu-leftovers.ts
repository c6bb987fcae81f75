import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The pids of the processes whose command line has this very argument (a guest's uuid, a probe's kernel). */
export const processesWith = (arg: string): string[] =>
  readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').includes(arg);
      } catch {
        return false;
      }
    });

/**
 * Ends every QEMU a pid file in these kvm directories names. A guest is a daemonized QEMU,
 * no child of a test or a daemon: what a failed test left running is ended here, and a
 * pid file naming anything but QEMU is left alone.
 */
export const killGuestsIn = (kvmDirs: readonly string[]): void => {
  for (const dir of kvmDirs) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).filter((f) => f.endsWith('.pid'))) {
      try {
        const pid = Number(readFileSync(join(dir, f), 'utf8'));
        if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('qemu-system')) process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  }
};
