import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { bootsFromDisk } from '../../domain/hv-params.js';
import type { Hypervisor, HypervisorInstance } from '../../domain/ports/hypervisor.js';
import { kvmGuestView } from './kvm-guest-view.js';
import { kvmLiveMigration, runState } from './kvm-migration.js';
import { connectQmp } from './qmp.js';

const run = promisify(execFile);

export interface KvmOptions {
  /** Where each node's guests keep their pid file, QMP socket and serial console (DIR/NODE/kvm). */
  stateDir: string;
  /** The kernel and initrd a guest without a boot disk of its own boots. */
  kernel: string;
  initrd?: string;
  append?: string;
  /** 'tcg' unless the node was found to boot guests under KVM (decided once, at start-up: a start waits for that). */
  accel: 'kvm' | 'tcg' | (() => Promise<'kvm' | 'tcg'>);
  /** How long `stop` waits after the ACPI power button before it ends QEMU itself (Ganeti's shutdown timeout). */
  shutdownTimeoutMs?: number;
  qemu?: string;
}

const STARTUP_MS = 30_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The SMBIOS uuid QEMU is given: the instance's own, or one derived from it when it is not in UUID form. */
const guestUuid = (uuid: string): string => {
  if (UUID.test(uuid)) return uuid.toLowerCase();
  const h = createHash('sha256').update(`opledger-instance:${uuid}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

/**
 * Whether a pid is alive and is the QEMU of this very guest on this very node: its command
 * line is our QEMU binary's, with the guest's uuid and this pid file (so the same guest's
 * QEMU for another node on the same host is not taken for it). A zombie has no command line.
 */
const isGuest = async (pid: number, uuid: string, binary: string, pidFile: string): Promise<boolean> => {
  try {
    const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    const after = (flag: string) => (args.indexOf(flag) >= 0 ? args[args.indexOf(flag) + 1] : undefined);
    return basename(args[0] ?? '') === binary && after('-uuid') === uuid && after('-pidfile') === pidFile;
  } catch {
    return false;
  }
};
/**
 * Whether a process still runs. A daemonized QEMU's parent is init, which may take its
 * time to reap it (over a second on some machines): a zombie has ended already.
 */
export const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // The state follows the command name, which is in parentheses and may hold any character.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
};
const until = async (check: () => boolean, ms: number) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
};

/**
 * Ganeti's `kvm` hypervisor, through QEMU: a guest is a daemonized QEMU (it outlives the
 * node daemon that started it, as Ganeti's guests outlive noded) named by `-name` and
 * identified by `-uuid`, with a QMP socket and a serial console file beside its pid file.
 * A pid file is believed only while its process is a QEMU carrying the guest's uuid, so a
 * recycled pid is never taken for a guest, nor killed as one.
 */
export const createKvmHypervisor = (options: KvmOptions): Hypervisor & { paths(node: string, name: string): { pid: string; qmp: string; serial: string }; live: ReturnType<typeof kvmLiveMigration> } => {
  const qemu = options.qemu ?? 'qemu-system-x86_64';
  const binary = basename(qemu);
  const dir = (node: string) => join(options.stateDir, node, 'kvm');
  const paths = (node: string, name: string) => ({ pid: join(dir(node), `${name}.pid`), qmp: join(dir(node), `${name}.qmp`), serial: join(dir(node), `${name}.serial`), uuid: join(dir(node), `${name}.uuid`), incoming: join(dir(node), `${name}.incoming`) });
  /** The pid of the QEMU the pid file names, if it is that guest's (the uuid given, else the one recorded). */
  const guestPid = async (node: string, name: string, uuid?: string): Promise<number | undefined> => {
    const p = paths(node, name);
    const pid = Number((await readFile(p.pid, 'utf8').catch(() => '')).trim());
    const known = uuid !== undefined ? guestUuid(uuid) : (await readFile(p.uuid, 'utf8').catch(() => '')).trim();
    return Number.isInteger(pid) && pid > 0 && known && (await isGuest(pid, known, binary, p.pid)) ? pid : undefined;
  };
  const forget = async (node: string, name: string) => {
    const p = paths(node, name);
    await Promise.all([p.pid, p.qmp, p.uuid, p.incoming].map((f) => rm(f, { force: true })));
  };
  const kill = (pid: number) => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // it ended on its own meanwhile
    }
  };
  // One call at a time per guest: a start retried while the first still runs, or a stop
  // racing a start, must never leave two QEMUs, or one whose files were removed.
  const busy = new Map<string, Promise<unknown>>();
  const serially = <T>(node: string, name: string, work: () => Promise<T>): Promise<T> => {
    const key = `${node}/${name}`;
    const next = (busy.get(key) ?? Promise.resolve()).catch(() => undefined).then(work);
    busy.set(key, next);
    void next.finally(() => busy.get(key) === next && busy.delete(key)).catch(() => undefined);
    return next;
  };
  /**
   * How the guest boots: the kernel its parameters name, else the node's; none at all when
   * kernel_path is given empty (SeaBIOS then boots its first disk). A file named is checked
   * here, so a wrong one is said in a line rather than in QEMU's words after it began.
   */
  const bootArgs = async (node: string, instance: HypervisorInstance): Promise<string[]> => {
    const hv = instance.hvParams ?? {};
    if (bootsFromDisk(hv)) {
      if ((instance.disks ?? []).length === 0) throw new Error(`${instance.name} boots from its first disk (kernel_path is empty) but was given no disk on node ${node}`);
      return ['-boot', 'order=c'];
    }
    const kernel = hv.kernel_path ?? options.kernel;
    // A kernel of the instance's own is given the initrd it names, or none: the node's was made for the node's kernel.
    const initrd = hv.initrd_path !== undefined ? hv.initrd_path : hv.kernel_path !== undefined ? undefined : options.initrd;
    const files = [
      [hv.kernel_path !== undefined ? 'its kernel_path' : "the node's kvm kernel", kernel],
      [hv.initrd_path !== undefined ? 'its initrd_path' : "the node's kvm initrd", initrd],
    ] as const;
    for (const [what, file] of files) {
      if (file && !(await stat(file).then((s) => s.isFile(), () => false))) throw new Error(`QEMU did not start ${instance.name} on node ${node}: ${what} ${file} is not a file there`);
    }
    return ['-kernel', kernel, ...(initrd ? ['-initrd', initrd] : []), '-append', hv.kernel_args ?? options.append ?? 'console=ttyS0 quiet panic=-1'];
  };
  const start = async (node: string, instance: HypervisorInstance, extraArgs: string[] = []) => {
    const uuid = guestUuid(instance.uuid);
    if (await guestPid(node, instance.name, instance.uuid)) return;
    const other = await guestPid(node, instance.name);
    if (other) throw new Error(`another guest named ${instance.name} (uuid ${(await readFile(paths(node, instance.name).uuid, 'utf8')).trim()}, pid ${other}) runs on node ${node}; stop it first`);
    const accel = typeof options.accel === 'function' ? await options.accel() : options.accel;
    await mkdir(dir(node), { recursive: true });
    await forget(node, instance.name);
    const p = paths(node, instance.name);
    // A unix socket's path has room for 107 bytes; past that QEMU would fail obscurely.
    if (Buffer.byteLength(p.qmp) > 107) throw new Error(`the QMP socket path of ${instance.name} on node ${node} is longer than a unix socket allows (${p.qmp})`);
    if ([p.qmp, p.serial].some((f) => f.includes(','))) throw new Error(`the node's directory ${dir(node)} has a ',' in it, which QEMU's options cannot carry`);
    const commaDisk = (instance.disks ?? []).find((d) => d.includes(','));
    if (commaDisk) throw new Error(`the disk ${commaDisk} of ${instance.name} has a ',' in its path, which QEMU's options cannot carry`);
    const boot = await bootArgs(node, instance);
    await writeFile(p.uuid, `${uuid}\n`);
    const args = [
      '-name', instance.name, '-uuid', uuid,
      '-machine', `pc,accel=${accel}`, '-m', String(instance.memoryMib), '-smp', String(instance.vcpus),
      '-display', 'none', '-nodefaults', '-no-user-config', '-no-reboot',
      ...boot,
      // Raw, as the storage made them; both nodes open a shared disk during a migration, which QEMU allows with its caches flushed on the source.
      ...(instance.disks ?? []).flatMap((disk) => ['-drive', `file=${disk},if=virtio,format=raw,cache=writeback`]),
      '-serial', `file:${p.serial}`, '-qmp', `unix:${p.qmp},server=on,wait=off`,
      '-daemonize', '-pidfile', p.pid, ...extraArgs,
    ];
    const fail = async (why: string): Promise<never> => {
      // A QEMU that got as far as daemonizing is ended before its files are let go of.
      const pid = await guestPid(node, instance.name, instance.uuid);
      if (pid) kill(pid);
      await forget(node, instance.name);
      throw new Error(`QEMU did not start ${instance.name} on node ${node}: ${why}`);
    };
    try {
      // With -daemonize QEMU returns once the guest is set up (or has failed to be).
      await run(qemu, args, { timeout: STARTUP_MS });
    } catch (error) {
      const stderr = String((error as { stderr?: string }).stderr ?? '').trim().split('\n').at(-1);
      return fail(stderr || (error as Error).message);
    }
    if (!(await guestPid(node, instance.name, instance.uuid))) return fail('it said it had, but no QEMU with its uuid runs');
  };
  const stop = async (node: string, instance: HypervisorInstance, timeoutMs = options.shutdownTimeoutMs ?? 120_000) => {
    const pid = await guestPid(node, instance.name, instance.uuid);
    if (pid) {
      const p = paths(node, instance.name);
      const gone = () => !alive(pid);
      // The ACPI power button first, as Ganeti does; then QEMU is ended without the guest.
      const qmp = await connectQmp(p.qmp).catch(() => undefined);
      // A guest that is not running (waiting for a migration, or paused after one) cannot
      // hear the button: it is ended at once rather than after the whole timeout.
      const running = qmp ? await runState(qmp).then((state) => state === 'running', () => false) : false;
      const pressed = qmp && running && timeoutMs > 0 ? await qmp.execute('system_powerdown').then(() => true, () => false) : false;
      if (!pressed || !(await until(gone, timeoutMs))) {
        await qmp?.execute('quit').catch(() => undefined);
        if (!(await until(gone, 5_000)) && (await isGuest(pid, guestUuid(instance.uuid), binary, p.pid))) kill(pid);
        await until(gone, 5_000);
      }
      qmp?.close();
    }
    await forget(node, instance.name);
  };
  const end = async (node: string, instance: HypervisorInstance) => {
    await stop(node, instance);
    await rm(paths(node, instance.name).serial, { force: true });
  };
  const live = kvmLiveMigration({ paths, guestPid, startWith: start, serially, end });
  const view = kvmGuestView({ stateDir: options.stateDir, paths, guestPid, sending: (node, name) => live.progress(node, name) !== undefined });
  const hypervisor = {
    inspect: view.inspect,
    console: view.console,
    paths: (node: string, name: string) => paths(node, name),
    live,
    start: (node: string, instance: HypervisorInstance) => serially(node, instance.name, () => start(node, instance)),
    stop: (node: string, instance: HypervisorInstance, given: { timeoutSeconds?: number } = {}) => serially(node, instance.name, () => stop(node, instance, given.timeoutSeconds === undefined ? undefined : given.timeoutSeconds * 1000)),
    cleanup: (node: string, instance: HypervisorInstance) => serially(node, instance.name, () => end(node, instance)),
    async running(node: string) {
      const names = (await readdir(dir(node)).catch(() => [] as string[])).filter((f) => f.endsWith('.pid')).map((f) => f.slice(0, -4));
      const live = await Promise.all(names.map(async (name) => ((await guestPid(node, name)) ? name : undefined)));
      return live.filter((n): n is string => n !== undefined).sort();
    },
  };
  return hypervisor;
};
