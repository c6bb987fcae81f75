import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { alive } from '../src/adapters/hypervisors/kvm.js';
import { connectQmp } from '../src/adapters/hypervisors/qmp.js';
import { figure, round, type Figure } from './measure.js';

/**
 * Live migration of a real QEMU guest between two namespaced hosts
 * (scripts/netns-cluster.sh), through `opl instance migrate` (the whole command: the
 * engine's job, the nodes' daemons over mutual TLS, accept, send, confirm, cleanup),
 * against a bare QMP migration of a twin of the same guest (the same QEMU command line,
 * started beside it) between the same two hosts, in the same run, interleaved. Two cases:
 * a 128 MiB idle guest, and a 512 MiB guest keeping 400 MiB dirty (the test guest's
 * `opl.dirty=400`). Medians over the runs: downtime is noisy (5–98 ms measured by hand here).
 */
const SCRIPT = fileURLToPath(new URL('../scripts/netns-cluster.sh', import.meta.url));
const OPL = fileURLToPath(new URL('../bin/opl.js', import.meta.url));
const GUEST = fileURLToPath(new URL('../.cache/test-guest', import.meta.url));
const RUNS = Number(process.env.BENCH_KVM_MIGRATIONS ?? 6);
const STEP_MS = 20;
const BOOT_LIMIT_MS = 120_000;
const MIGRATION_LIMIT_MS = 170_000;

interface Case { label: 'idle' | 'dirty'; instance: string; memoryMib: number; dirtyMib: number; hosts: [number, number] }
const CASES: Case[] = [
  { label: 'idle', instance: 'vmi', memoryMib: 128, dirtyMib: 0, hosts: [1, 2] },
  { label: 'dirty', instance: 'vmd', memoryMib: 512, dirtyMib: 400, hosts: [3, 4] },
];
interface Run { wallMs: number; totalMs: number; downtimeMs: number; bytes: number }

const address = (host: number) => `10.231.0.${host + 1}`; // as scripts/netns-cluster.sh numbers them
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const waitFor = async <T>(what: string, check: () => Promise<T | undefined> | T | undefined, limitMs: number): Promise<T> => {
  const end = Date.now() + limitMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`kvm-migrate bench: ${what} did not happen within ${limitMs / 1000} s`);
    await sleep(STEP_MS);
  }
};
const booted = (serial: string, c: Case) => () => {
  const text = existsSync(serial) ? readFileSync(serial, 'utf8') : '';
  return (c.dirtyMib > 0 ? text.includes(`opl-guest: dirtying ${c.dirtyMib} MiB`) : text.includes('opl-guest: no /dev/vda')) || undefined;
};

interface MigrateInfo { status?: string; 'total-time'?: number; downtime?: number; ram?: { transferred?: number } }

/** The bare reference's guest: the QEMU command line opl gave the instance, with files of its own. */
const twin = (prefix: string, dir: string, c: Case, opl: string[]) => {
  const at = (host: number, ext: string) => join(dir, `${c.instance}-h${host}.${ext}`);
  const args = (host: number) => {
    const a = [...opl];
    const set = (flag: string, value: string) => {
      if (a.indexOf(flag) < 1) throw new Error(`kvm-migrate bench: opl's QEMU command line has no ${flag}`);
      a[a.indexOf(flag) + 1] = value;
    };
    set('-name', `${c.instance}-bare`);
    set('-uuid', randomUUID());
    set('-serial', `file:${at(host, 'serial')}`);
    set('-qmp', `unix:${at(host, 'qmp')},server=on,wait=off`);
    set('-pidfile', at(host, 'pid'));
    return a;
  };
  const startOn = (host: number, extra: string[] = []) => {
    execFileSync('ip', ['netns', 'exec', `${prefix}-h${host}`, ...args(host), ...extra], { timeout: 30_000, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  const pidOn = (host: number) => Number(readFileSync(at(host, 'pid'), 'utf8'));
  let on = c.hosts[0];
  return {
    serial: () => at(on, 'serial'),
    start: () => startOn(on),
    /** Start the destination waiting, make it listen, migrate, follow, check it runs, end the source. */
    async migrate(to: number): Promise<Run> {
      const from = on;
      const began = performance.now();
      startOn(to, ['-incoming', 'defer']);
      const qmps: { close(): void }[] = [];
      try {
        const dst = await connectQmp(at(to, 'qmp'));
        qmps.push(dst);
        const src = await connectQmp(at(from, 'qmp'));
        qmps.push(src);
        await dst.execute('migrate-incoming', { uri: `tcp:${address(to)}:0` });
        const port = ((await dst.execute('query-migrate')) as { 'socket-address'?: { port?: string }[] })['socket-address']?.[0]?.port;
        if (!port) throw new Error('kvm-migrate bench: the bare destination did not say its port');
        await src.execute('migrate', { uri: `tcp:${address(to)}:${port}` });
        const info = await waitFor('the bare migration', async () => {
          const i = (await src.execute('query-migrate')) as MigrateInfo;
          if (i.status === 'failed' || i.status === 'cancelled') throw new Error(`kvm-migrate bench: the bare migration ${i.status}`);
          return i.status === 'completed' ? i : undefined;
        }, MIGRATION_LIMIT_MS);
        await waitFor('the bare destination to run', async () => ((await dst.execute('query-status')) as { status: string }).status === 'running' || undefined, 10_000);
        const pid = pidOn(from);
        await src.execute('quit').catch(() => undefined);
        await waitFor('the bare source to end', () => !alive(pid) || undefined, 10_000);
        on = to;
        return { wallMs: performance.now() - began, totalMs: info['total-time'] ?? 0, downtimeMs: info.downtime ?? 0, bytes: info.ram?.transferred ?? 0 };
      } finally {
        for (const q of qmps) q.close();
      }
    },
    pids: () => c.hosts.map((h) => (existsSync(at(h, 'pid')) ? pidOn(h) : 0)).filter((p) => p > 0 && alive(p)),
  };
};
export const benchKvmMigrate = async (): Promise<Figure[]> => {
  if (!Number.isInteger(RUNS) || RUNS < 1 || RUNS > 100) throw new Error(`BENCH_KVM_MIGRATIONS '${process.env.BENCH_KVM_MIGRATIONS}': expected a whole number of migrations, 1 to 100`);
  if (!existsSync(join(GUEST, 'vmlinuz'))) throw new Error(`kvm-migrate bench: no test guest in ${GUEST}: run scripts/build-test-guest.sh`);
  const prefix = `k${process.pid % 100000}`;
  const work = mkdtempSync(join(tmpdir(), 'opl-bench-kvm-'));
  const bare = join(work, 'bare');
  mkdirSync(bare);
  const opl = (...args: string[]) => execFileSync('ip', ['netns', 'exec', `${prefix}-h0`, process.execPath, OPL, '--data-dir', join(work, 'engine'), ...args], { timeout: 300_000, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  const guestDir = (host: number) => join(work, `h${host}`, 'hypervisor', `h${host}`, 'kvm');
  const twins: ReturnType<typeof twin>[] = [];
  try {
    for (const c of CASES) {
      for (const host of c.hosts) {
        mkdirSync(join(work, `h${host}`), { recursive: true });
        const append = `console=ttyS0 quiet panic=-1${c.dirtyMib ? ` opl.dirty=${c.dirtyMib}` : ''}`;
        const kvm = { kernel: join(GUEST, 'vmlinuz'), initrd: join(GUEST, 'initramfs.img'), append, shutdownTimeoutSeconds: 3 };
        writeFileSync(join(work, `h${host}`, 'node.json'), JSON.stringify({ name: `h${host}`, storageDirs: [join(work, 'shared')], driverDirs: [join(work, 'drivers')], kvm }));
      }
    }
    execFileSync('bash', [SCRIPT, 'up', prefix, '4', work], { timeout: 300_000, stdio: ['ignore', 'ignore', 'pipe'] });
    opl('cluster', 'modify', '--enabled-hypervisors', 'fake,kvm');
    for (const c of CASES) opl('instance', 'add', c.instance, '-t', 'diskless', '--memory', `${c.memoryMib}M`, '--vcpus', '1', '-n', `h${c.hosts[0]}`, '-H', 'kvm');
    for (const c of CASES) {
      const own = guestDir(c.hosts[0]);
      const pid = Number(readFileSync(join(own, `${c.instance}.pid`), 'utf8'));
      const t = twin(prefix, bare, c, readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1));
      t.start();
      twins.push(t);
    }
    for (const [i, c] of CASES.entries()) {
      await waitFor(`${c.instance} to boot`, booted(join(guestDir(c.hosts[0]), `${c.instance}.serial`), c), BOOT_LIMIT_MS);
      await waitFor(`${c.instance}'s twin to boot`, booted(twins[i]!.serial(), c), BOOT_LIMIT_MS);
    }
    const figures: Figure[] = [];
    for (const [i, c] of CASES.entries()) {
      const ours: Run[] = [];
      const refs: Run[] = [];
      for (let r = 0; r < RUNS; r++) {
        const to = c.hosts[(r + 1) % 2]!;
        // Interleaved, each first in turn, so both meet the same machine.
        const oursRun = async () => ours.push(migrateThroughOpl(opl, c.instance, to));
        const bareRun = async () => refs.push(await twins[i]!.migrate(to));
        if (r % 2 === 0) await oursRun().then(bareRun);
        else await bareRun().then(oursRun);
      }
      const m = (runs: Run[], k: keyof Run) => round(median(runs.map((x) => x[k])));
      figures.push(
        figure({
          bench: 'kvm-migrate',
          value: m(ours, 'totalMs'),
          unit: `ms QEMU total time, median of ${RUNS} live migrations of a ${c.memoryMib} MiB guest${c.dirtyMib ? ` dirtying ${c.dirtyMib} MiB` : ', idle'} between two namespaced hosts through opl instance migrate`,
          reference: m(refs, 'totalMs'),
          referenceWhat: 'a bare QMP migrate (migrate-incoming on a -incoming defer twin, migrate, query-migrate) of a twin guest, same QEMU command line, same two hosts, interleaved in this run',
          guest: c.label,
          memoryMib: c.memoryMib,
          downtimeMs: m(ours, 'downtimeMs'),
          referenceDowntimeMs: m(refs, 'downtimeMs'),
          downtimeDifferenceMs: round(m(ours, 'downtimeMs') - m(refs, 'downtimeMs')),
          wallMs: m(ours, 'wallMs'),
          referenceWallMs: m(refs, 'wallMs'),
          wallRatio: round(m(ours, 'wallMs') / m(refs, 'wallMs')),
          mib: round(m(ours, 'bytes') / 2 ** 20),
          referenceMib: round(m(refs, 'bytes') / 2 ** 20),
        }),
      );
    }
    return figures;
  } finally {
    // Each part of the teardown on its own, so one that fails leaves none of the others undone.
    const attempt = (what: () => void) => {
      try {
        what();
      } catch (error) {
        process.stderr.write(`kvm-migrate bench: teardown: ${error instanceof Error ? error.message : String(error)}\n`);
      }
    };
    for (const t of twins) for (const pid of t.pids()) attempt(() => process.kill(pid, 'SIGKILL'));
    attempt(() => execFileSync('bash', [SCRIPT, 'down', prefix, work], { timeout: 120_000 }));
    attempt(() => killQemusUnder(work));
    attempt(() => rmSync(work, { recursive: true, force: true }));
  }
};

/** opl's guests are daemonized QEMUs that outlive their node's daemon: ended by the files they were started with. */
const killQemusUnder = (work: string) => {
  const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  for (const line of out.split('\n')) {
    const m = /^\s*(\d+)\s+(\S*qemu-system\S*)\s.*$/.exec(line);
    if (m && line.includes(work)) {
      try {
        process.kill(Number(m[1]), 'SIGKILL');
      } catch {
        // ended meanwhile
      }
    }
  }
};

/** The whole `opl instance migrate`, timed from outside; QEMU's figures as the job recorded them. */
const migrateThroughOpl = (opl: (...args: string[]) => string, instance: string, to: number): Run => {
  const began = performance.now();
  opl('instance', 'migrate', instance, '-n', `h${to}`);
  const wallMs = performance.now() - began;
  const jobs = JSON.parse(opl('job', 'list', '--output', 'json')) as { id: number }[];
  const last = jobs.reduce((a, j) => (j.id > a ? j.id : a), 0);
  const job = JSON.parse(opl('job', 'info', String(last), '--output', 'json')) as { opcodes: { migration?: { totalMs: number; downtimeMs: number; bytes: number } }[] };
  if (process.env.BENCH_KVM_DEBUG) console.error(JSON.stringify(job, null, 1));
  const migration = job.opcodes[0]?.migration;
  if (!migration) throw new Error(`kvm-migrate bench: job ${last} recorded no migration`);
  return { wallMs, ...migration };
};
