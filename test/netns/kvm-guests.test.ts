import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { alive } from '../../src/adapters/hypervisors/kvm.js';
import { killGuestsIn } from '../adapters/hypervisors/qemu-leftovers.js';
import { until } from '../cli/invariants.js';

/**
 * A real QEMU guest on a cluster of namespaced hosts (scripts/netns-cluster.sh): two
 * hosts whose opl-noded serves kvm, the engine in a namespace of its own, the migration
 * stream between the hosts' own addresses. The guest counts on its sharedfile disk once a
 * second and keeps 160 MiB of its memory dirty (the test guest's opl.dirty), so a live
 * migration of it lasts long enough to be interrupted: by a SIGKILLed engine, by its
 * destination's QEMU killed, by its source's QEMU killed. Every `opl` runs inside the
 * engine's namespace; nothing is sent to the hosts' addresses from the root namespace.
 */
const SCRIPT = fileURLToPath(new URL('../../scripts/netns-cluster.sh', import.meta.url));
const GUEST = resolve(import.meta.dirname, '../../.cache/test-guest');
const PREFIX = `q${process.pid % 100000}`;
const DIRTY_MIB = 160;
let work: string;

interface Result { code: number; stdout: string; stderr: string }
const opl = (args: string[], env: Record<string, string> = {}, ms = 180_000): Promise<Result> =>
  new Promise((done) => {
    execFile('bash', [SCRIPT, 'opl', PREFIX, work, ...args], { timeout: ms, env: { ...process.env, ...env } }, (error, stdout, stderr) =>
      done({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
const ok = async (...args: string[]) => {
  const r = await opl(args);
  expect(r.code, `opl ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r;
};
const instance = async (name = 'vm') => {
  const r = await ok('instance', 'list', '--output', 'json');
  return (JSON.parse(r.stdout) as { name: string; primaryNode: string; status: string }[]).find((i) => i.name === name)!;
};
const guestDir = (host: string) => join(work, host, 'hypervisor', host, 'kvm');
const qemuPid = (host: string, name = 'vm'): number | undefined => {
  const file = join(guestDir(host), `${name}.pid`);
  const pid = existsSync(file) ? Number(readFileSync(file, 'utf8')) : 0;
  return pid > 0 && alive(pid) ? pid : undefined;
};
const counted = (host: string, name = 'vm') => {
  const file = join(guestDir(host), `${name}.serial`);
  return existsSync(file) ? [...readFileSync(file, 'utf8').matchAll(/^opl-counter (\d+)$/gm)].map((m) => Number(m[1])) : [];
};
const residentKib = (pid: number) => Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
/**
 * Resolves once the destination's QEMU is receiving the guest's memory: its resident size
 * has grown by 32 MiB since it started waiting — well inside a migration that sends
 * more than 160 MiB. Polled every 5 ms, for at most 60 s.
 */
const midMigration = async (host: string): Promise<number> => {
  const end = Date.now() + 60_000;
  let base: number | undefined;
  while (Date.now() < end) {
    const pid = existsSync(join(guestDir(host), 'vm.incoming')) ? qemuPid(host) : undefined;
    if (pid !== undefined) {
      const rss = residentKib(pid);
      base ??= rss;
      if (rss - base > 32 * 1024) return pid;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`no migration reached ${host} within 60 s`);
};
/**
 * `instance migrate vm -n h2`, with `interrupt` done to it mid-migration (given the
 * destination's QEMU); the command's result, awaited even when the interruption fails,
 * so that it never runs on into the next test.
 */
const migrateInterrupted = async (interrupt: (destination: number) => void): Promise<Result> => {
  const migrate = opl(['instance', 'migrate', 'vm', '-n', 'h2']);
  const [interrupted] = await Promise.allSettled([midMigration('h2').then(interrupt)]);
  const done = await migrate;
  if (interrupted!.status === 'rejected') throw interrupted.reason;
  return done;
};
/** The count goes on from `before`, one a second and never back, on `host`. */
const countsOnFrom = async (host: string, before: number, name = 'vm') => {
  await until(`${name} to count on ${host} past ${before}`, () => counted(host, name).some((n) => n > before + 1), 60);
  const after = counted(host, name).filter((n) => n > before);
  expect(after.every((n, i) => i === 0 || n === after[i - 1]! + 1)).toBe(true);
  return after;
};
interface Job { id: number; status: string; opcodes: { type: string; log: { message: string }[]; migration?: { bytes: number } }[] }
const lastMigration = async () => {
  const jobs = JSON.parse((await ok('job', 'list', '--output', 'json')).stdout) as Job[];
  return jobs.filter((j) => j.opcodes[0]?.type === 'OP_INSTANCE_MIGRATE').at(-1);
};
/**
 * Each case starts from where it says the guest runs, whatever an earlier case left (a
 * case that failed must not fail the next): a guest that died is started again on its
 * primary, one on the other host is migrated back.
 */
const runningOn = async (host: string) => {
  let vm = await instance();
  if (vm.status === 'ERROR_down') await ok('instance', 'startup', 'vm');
  else if (vm.status !== 'running') throw new Error(`vm is ${vm.status} on ${vm.primaryNode}: no case begins from that`);
  vm = await instance();
  if (vm.primaryNode !== host) await ok('instance', 'migrate', 'vm', '-n', host);
  expect(await instance()).toMatchObject({ primaryNode: host, status: 'running' });
  await until(`vm to count on ${host}`, () => counted(host).length > 0, 60);
};
const tail = (file: string, lines = 20) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n') : '(none)');
/** What a failed case leaves to read (the run's files are removed after it): the jobs' logs, the guests' consoles, the daemons' errors. */
const whatHappened = async (): Promise<string> => {
  const jobs = await opl(['job', 'list', '--output', 'json']).then((r) => (JSON.parse(r.stdout) as Job[]).slice(-3)).catch(() => [] as Job[]);
  const logs = jobs.map((j) => `job ${j.id} ${j.opcodes[0]?.type} ${j.status}:\n${j.opcodes.flatMap((o) => o.log.map((l) => `  ${l.message}`)).join('\n')}`);
  const hosts = ['h1', 'h2', 'h3'].map((h) => `${h} console:\n${tail(join(guestDir(h), 'vm.serial'))}\n${h} daemon errors:\n${tail(join(work, `${h}.err`))}\n${h} guest files: ${existsSync(guestDir(h)) ? readdirSync(guestDir(h)).join(' ') : '(none)'}`);
  return [...logs, ...hosts].join('\n');
};
const ourNamespaces = () => execFileSync('ip', ['netns', 'list']).toString().split('\n').filter((l) => l.startsWith(`${PREFIX}-`));

beforeAll(async () => {
  if (!existsSync(join(GUEST, 'vmlinuz'))) throw new Error(`no test guest in ${GUEST}: run scripts/build-test-guest.sh (npm test's setup does)`);
  work = mkdtempSync(join(tmpdir(), 'opl-netns-kvm-'));
  const kvm = { kernel: join(GUEST, 'vmlinuz'), initrd: join(GUEST, 'initramfs.img'), append: `console=ttyS0 quiet panic=-1 opl.dirty=${DIRTY_MIB}`, shutdownTimeoutSeconds: 3 };
  for (const host of ['h1', 'h2', 'h3']) {
    mkdirSync(join(work, host));
    writeFileSync(join(work, host, 'node.json'), JSON.stringify({ name: host, storageDirs: [join(work, 'shared')], driverDirs: [join(work, 'drivers')], kvm }));
  }
  execFileSync('bash', [SCRIPT, 'up', PREFIX, '3', work], { timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'] });
  await ok('cluster', 'modify', '--enabled-hypervisors', 'fake,kvm');
  await ok('instance', 'add', 'vm', '-t', 'sharedfile', '--disk', '0:size=4M', '--memory', '256M', '--vcpus', '1', '-n', 'h1', '-H', 'kvm');
  await until('vm to dirty its memory and count on h1', () => readFileSync(join(guestDir('h1'), 'vm.serial'), 'utf8').includes(`dirtying ${DIRTY_MIB} MiB`) && counted('h1').length >= 2, 90);
}, 240_000);

afterAll(() => {
  try {
    execFileSync('bash', [SCRIPT, 'down', PREFIX, work], { timeout: 60_000 });
  } finally {
    killGuestsIn(['h1', 'h2', 'h3'].map(guestDir));
    rmSync(work, { recursive: true, force: true });
  }
  expect(ourNamespaces()).toEqual([]);
}, 90_000);

beforeEach(({ onTestFailed }) => onTestFailed(async () => console.error(`what happened:\n${await whatHappened()}`)));

describe('a kvm guest on namespaced hosts, its live migration interrupted', () => {
  it('migrates live h1 → h2 while it writes: the count carries on, never back, and skips no more than the move took', async () => {
    await runningOn('h1');
    const before = counted('h1').at(-1)!;
    const began = Date.now();
    await ok('instance', 'migrate', 'vm', '-n', 'h2');
    const took = Math.ceil((Date.now() - began) / 1000);
    expect(await instance()).toMatchObject({ primaryNode: 'h2', status: 'running' });
    expect(qemuPid('h1')).toBeUndefined();
    const after = await countsOnFrom('h2', before);
    expect(after[0]! - before).toBeLessThanOrEqual(took + 2);
  });

  it('an engine SIGKILLed while the guest is being sent: its successor follows the same migration to its end', async () => {
    await runningOn('h2');
    const before = counted('h2').at(-1)!;
    const source = qemuPid('h2')!;
    // intent:3 — the disk's attach on h1 is step 1, the accept 2, the send 3.
    const killed = await opl(['instance', 'migrate', 'vm', '-n', 'h1'], { OPL_FAULT_KILL_AT: 'intent:3' });
    expect(killed.code).not.toBe(0);
    expect(qemuPid('h1')).toBeDefined(); // the destination waits or runs already
    const successor = await opl(['debug', 'delay', '0']);
    expect(successor.code, successor.stderr).toBe(0);
    expect(await instance()).toMatchObject({ primaryNode: 'h1', status: 'running' });
    expect(alive(source)).toBe(false);
    const job = (await lastMigration())!;
    expect(job.status).toBe('success');
    // The successor asked the node for the same send again and followed it: one migration, its figures recorded.
    expect(job.opcodes[0]!.log.map((l) => l.message)).toContainEqual(expect.stringMatching(/^migrating instance vm live from node h2 to node h1 .*\(again: the engine that began it was lost\)$/));
    expect(job.opcodes[0]!.migration!.bytes).toBeGreaterThan(DIRTY_MIB << 20);
    await countsOnFrom('h1', before);
  });

  it("the destination's QEMU killed in the middle of the migration: the job fails, the guest goes on running on its source", async () => {
    await runningOn('h1');
    const source = qemuPid('h1')!;
    const r = await migrateInterrupted((destination) => process.kill(destination, 'SIGKILL'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/migration of vm from node h1 .*(failed|cancelled)/);
    expect(qemuPid('h1')).toBe(source);
    expect(qemuPid('h2')).toBeUndefined();
    expect(await instance()).toMatchObject({ primaryNode: 'h1', status: 'running' });
    await countsOnFrom('h1', counted('h1').at(-1)!);
    expect((await opl(['cluster', 'verify'])).code).toBe(0);
  });

  it("the source's QEMU killed in the middle of the migration: the job fails, nothing runs on h2, and the guest starts again on h1 from its disk", async () => {
    await runningOn('h1');
    let last = 0;
    const r = await migrateInterrupted(() => {
      last = counted('h1').at(-1)!;
      process.kill(qemuPid('h1')!, 'SIGKILL');
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^opl: job \d+ failed: migrating instance vm live from node h1 to node h2 .* failed: node h1 .*hv-send: (QEMU closed its QMP socket \S+|QEMU's QMP socket \S+ is closed)/m); // as the QEMU died: mid-query or between
    expect(qemuPid('h2')).toBeUndefined();
    expect(await instance()).toMatchObject({ primaryNode: 'h1', status: 'ERROR_down' });
    await ok('instance', 'startup', 'vm');
    expect(await instance()).toMatchObject({ primaryNode: 'h1', status: 'running' });
    await countsOnFrom('h1', last);
    expect(readdirSync(guestDir('h2')).filter((f) => f.startsWith('vm.') && !f.endsWith('.serial'))).toEqual([]);
  });

  it('evacuated with another: node migrate h1 moves both its guests live to h2, one job each, both counting on', async () => {
    await runningOn('h1');
    // The second guest boots its own command line (-H kvm:kernel_args): idle, without the node's opl.dirty.
    await ok('instance', 'add', 'vm2', '-t', 'sharedfile', '--disk', '0:size=4M', '--memory', '128M', '--vcpus', '1', '-n', 'h1', '-H', 'kvm:kernel_args=console=ttyS0 quiet panic=-1');
    try {
      await until('vm2 to count on h1', () => counted('h1', 'vm2').length >= 2, 90);
      const before = { vm: counted('h1').at(-1)!, vm2: counted('h1', 'vm2').at(-1)! };
      const r = await ok('node', 'migrate', 'h1', '-n', 'h2');
      expect(r.stdout).toMatch(/^\d+ +vm +success +-$/m);
      expect(r.stdout).toMatch(/^\d+ +vm2 +success +-$/m);
      for (const name of ['vm', 'vm2'] as const) {
        expect(await instance(name)).toMatchObject({ primaryNode: 'h2', status: 'running' });
        expect(qemuPid('h1', name)).toBeUndefined();
        await countsOnFrom('h2', before[name], name);
      }
    } finally {
      await opl(['instance', 'remove', '-f', 'vm2']);
    }
    expect(qemuPid('h2', 'vm2')).toBeUndefined();
  });

  it("its host cut off while the guest runs: the failover powers h1 off through h1's oob program first, then the guest boots on h2 from its disk, counting on", async () => {
    await runningOn('h1');
    // h1's "BMC": power-off ends everything in h1's namespace (its daemon, its QEMU); power-status says whether anything lives there.
    const bmc = join(work, 'bmc');
    writeFileSync(bmc, `#!/bin/sh\necho "$@" >> ${join(work, 'bmc.calls')}\nns="${PREFIX}-$2"\ncase "$1" in\n  power-off) pids=$(ip netns pids "$ns"); [ -z "$pids" ] || kill -KILL $pids; exit 0 ;;\n  power-status) if [ -n "$(ip netns pids "$ns")" ]; then echo '{"powered": true}'; else echo '{"powered": false}'; fi ;;\n  *) echo "no $1 here" >&2; exit 1 ;;\nesac\n`, { mode: 0o755 });
    await ok('node', 'modify', 'h1', '--node-parameters', `oob_program=${bmc}`);
    const onH1 = qemuPid('h1')!;
    execFileSync('ip', ['-n', `${PREFIX}-h1`, 'link', 'set', 'eth0', 'down']);
    // Cut off, the guest goes on writing the shared disk: why it must not be started elsewhere beside it.
    const cut = counted('h1').at(-1)!;
    await until('vm to count on h1 while h1 is cut off', () => counted('h1').some((n) => n > cut + 1), 30);
    const r = await ok('instance', 'failover', 'vm', '-n', 'h2');
    const lines = r.stderr.split('\n');
    const at = (text: string) => lines.findIndex((l) => l.includes(text));
    expect(at('node h1, where vm runs, does not answer')).toBeGreaterThan(-1);
    expect(at(`powering off node h1 through its oob program ${bmc}`)).toBeGreaterThan(at('does not answer'));
    expect(at('that node h1 is powered off')).toBeGreaterThan(at('powering off node h1'));
    expect(at('starting instance vm on node h2')).toBeGreaterThan(at('that node h1 is powered off'));
    expect(readFileSync(join(work, 'bmc.calls'), 'utf8')).toBe('power-off h1\npower-status h1\n');
    expect(alive(onH1)).toBe(false);
    const last = counted('h1').at(-1)!;
    expect(await instance()).toMatchObject({ primaryNode: 'h2', status: 'running' });
    const nodes = JSON.parse((await ok('node', 'list', '--output', 'json')).stdout) as { name: string; offline: boolean; powered?: boolean }[];
    expect(nodes.find((n) => n.name === 'h1')).toMatchObject({ offline: true, powered: false });
    await countsOnFrom('h2', last);
  });

  it('its host dead (daemon and QEMU killed): h2 marked offline, the guest failed over to h3 from its disk, counting on', async () => {
    await runningOn('h2');
    const daemon = Number(readFileSync(join(work, 'pids'), 'utf8').split('\n').find((l) => l.startsWith('h2 '))!.split(' ')[1]);
    const last = counted('h2').at(-1)!;
    process.kill(daemon, 'SIGKILL');
    process.kill(qemuPid('h2')!, 'SIGKILL');
    await until('h2 to be dead', () => !alive(daemon) && qemuPid('h2') === undefined, 10);
    await ok('node', 'modify', 'h2', '--offline', 'yes');
    expect(await instance()).toMatchObject({ primaryNode: 'h2', status: 'ERROR_nodeoffline' });
    await ok('instance', 'failover', 'vm', '-n', 'h3', '--ignore-consistency');
    expect(await instance()).toMatchObject({ primaryNode: 'h3', status: 'running' });
    await countsOnFrom('h3', last);
  });
});
