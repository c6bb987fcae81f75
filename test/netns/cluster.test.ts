import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * A cluster of namespaced hosts (scripts/netns-cluster.sh): the engine in a namespace
 * of its own, two hosts running opl-noded joined with tokens, every address inside the
 * namespaces. Partitions: a link taken down inside a host's namespace, a daemon frozen
 * with SIGSTOP. Every `opl` runs inside the engine's namespace; nothing is sent to these
 * addresses from the root namespace.
 */
const SCRIPT = fileURLToPath(new URL('../../scripts/netns-cluster.sh', import.meta.url));
const PREFIX = `t${process.pid % 100000}`;
let work: string;

const opl = (...args: string[]) => oplWithin(60_000, ...args);
/** opl in the engine's namespace, ended after `ms` (a call to a frozen node takes its bounded retries). */
const oplWithin = (ms: number, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    execFile('bash', [SCRIPT, 'opl', PREFIX, work, ...args], { timeout: ms }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
const json = async <T>(...args: string[]): Promise<T> => {
  const r = await opl(...args, '--output', 'json');
  if (r.code !== 0) throw new Error(`opl ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
};
const nodeStatus = async () => Object.fromEntries((await json<{ name: string; status: string }[]>('node', 'list')).map((n) => [n.name, n.status]));
const instanceStatus = async (name: string) => (await json<{ name: string; status: string }[]>('instance', 'list')).find((i) => i.name === name)!.status;
const daemonPid = (host: string) => Number(readFileSync(join(work, 'pids'), 'utf8').split('\n').find((l) => l.startsWith(`${host} `))!.split(' ')[1]);
/** The daemon itself (`setsid` and `ip netns exec` both exec it in their place): checked by its command line. */
const noded = (host: string) => {
  const pid = daemonPid(host);
  expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toMatch(new RegExp(`opl-noded\\.js\0--dir\0[^\0]*/${host}\0`));
  return pid;
};
const ourNamespaces = () => execFileSync('ip', ['netns', 'list']).toString().split('\n').filter((l) => l.startsWith(`${PREFIX}-`));

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'opl-netns-'));
  execFileSync('bash', [SCRIPT, 'up', PREFIX, '2', work], { timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'] });
}, 150_000);

afterAll(() => {
  execFileSync('bash', [SCRIPT, 'down', PREFIX, work], { timeout: 60_000 });
  expect(ourNamespaces()).toEqual([]);
  rmSync(work, { recursive: true, force: true });
}, 90_000);

describe('a cluster of namespaced hosts, partitioned and frozen', () => {
  it('joined both hosts over their own addresses; verify finds nothing', async () => {
    expect(ourNamespaces().map((l) => l.split(' ')[0]).sort()).toEqual([`${PREFIX}-br`, `${PREFIX}-h0`, `${PREFIX}-h1`, `${PREFIX}-h2`]);
    const nodes = await json<{ name: string; address: string }[]>('node', 'list');
    expect(nodes.map((n) => [n.name, n.address])).toEqual([['h1', '10.231.0.2:1811'], ['h2', '10.231.0.3:1811']]);
    expect(await nodeStatus()).toEqual({ h1: 'ok', h2: 'ok' });
    expect((await opl('cluster', 'verify')).code).toBe(0);
    expect((await opl('instance', 'add', 'web', '-t', 'diskless', '--memory', '256M', '--vcpus', '1', '-n', 'h1')).code).toBe(0);
    expect(await instanceStatus('web')).toBe('running');
  });

  it('a sharedfile disk made on h1 by its daemon, the guest live-migrated to h2; verify finds a disk removed behind its back on both hosts', async () => {
    const add = await opl('instance', 'add', 'db', '-t', 'sharedfile', '--disk', '0:size=4M', '--memory', '128M', '--vcpus', '1', '-n', 'h1');
    expect(add.code, add.stderr).toBe(0);
    const disk = join(work, 'shared', 'db', 'disk0');
    expect(statSync(disk).size).toBe(4 << 20);
    expect(readdirSync(join(work, 'h1', 'hypervisor', 'h1', 'fake-hv'))).toContain('db.json');
    const migrate = await opl('instance', 'migrate', 'db', '-n', 'h2');
    expect(migrate.code, migrate.stderr).toBe(0);
    expect(readdirSync(join(work, 'h1', 'hypervisor', 'h1', 'fake-hv'))).not.toContain('db.json');
    expect(readdirSync(join(work, 'h2', 'hypervisor', 'h2', 'fake-hv'))).toEqual(['db.json']);
    expect(await instanceStatus('db')).toBe('running');
    expect((await opl('cluster', 'verify')).code).toBe(0);
    rmSync(disk);
    try {
      const verify = await opl('cluster', 'verify');
      expect(verify.code).toBe(1);
      expect(verify.stdout.split('\n').filter((l) => l.startsWith('ERROR'))).toEqual([
        `ERROR: node h1: does not see disk 0 of instance db (sharedfile ${disk})`,
        `ERROR: node h2: does not see disk 0 of instance db (sharedfile ${disk})`,
      ]);
    } finally {
      writeFileSync(disk, '');
    }
    expect((await opl('cluster', 'verify')).code).toBe(0);
    expect(readdirSync(join(work, 'shared'))).toEqual(['db']); // verify's probes are gone
  });

  it("an ext disk's driver runs inside the namespace of the host its disk is on, from the host's --driver-dir", async () => {
    const pool = join(work, 'pool');
    mkdirSync(pool);
    writeFileSync(join(pool, 'calls'), '');
    const dir = join(work, 'drivers', 'whereami');
    mkdirSync(dir);
    const outputs: Record<string, string> = { create: 'echo "$INSTANCE_NAME.$DISK_INDEX"', attach: 'echo "/dev/fake/$LOGICAL_ID"', detach: ':', remove: ':' };
    for (const [action, out] of Object.entries(outputs)) {
      writeFileSync(join(dir, action), `#!/bin/sh\necho "${action} $NODE_NAME $(ip netns identify $$)" >> "$EXTP_DIR/calls"\n${out}\n`, { mode: 0o755 });
    }
    const calls = () => readFileSync(join(pool, 'calls'), 'utf8').trim().split('\n');
    expect((await opl('cluster', 'modify', '--add-pool', 'where', 'whereami', '--pool-param', `dir=${pool}`)).code).toBe(0);
    expect((await opl('group', 'modify', 'g1', '--connect-pool', 'where')).code).toBe(0);
    const add = await opl('instance', 'add', 'vol', '-t', 'ext:where', '--disk', '0:size=4M', '--memory', '128M', '--vcpus', '1', '-n', 'h1');
    expect(add.code, add.stderr).toBe(0);
    expect(calls()).toEqual([`create h1 ${PREFIX}-h1`, `attach h1 ${PREFIX}-h1`, `detach h1 ${PREFIX}-h1`]);
    const migrate = await opl('instance', 'migrate', 'vol', '-n', 'h2');
    expect(migrate.code, migrate.stderr).toBe(0);
    expect(calls().slice(3)).toContain(`attach h2 ${PREFIX}-h2`);
    expect((await opl('cluster', 'verify')).code).toBe(0);
    expect((await opl('instance', 'remove', '-f', 'vol')).code).toBe(0);
    expect(calls().at(-1)).toBe(`remove h2 ${PREFIX}-h2`);
    expect(calls().filter((c) => !c.endsWith(`${PREFIX}-h1`) && !c.endsWith(`${PREFIX}-h2`))).toEqual([]);
  });

  it("a link taken down inside h1's namespace: h1 unreachable, its instance ERROR_nodedown, verify exit 1; back when the link is", async () => {
    execFileSync('ip', ['-n', `${PREFIX}-h1`, 'link', 'set', 'eth0', 'down']);
    try {
      expect(await nodeStatus()).toEqual({ h1: 'unreachable', h2: 'ok' });
      expect(await instanceStatus('web')).toBe('ERROR_nodedown');
      const verify = await opl('cluster', 'verify');
      expect(verify.code).toBe(1);
      expect(verify.stdout).toMatch(/ERROR: node h1: does not answer: node h1/);
      const add = await opl('instance', 'add', 'api', '-t', 'diskless', '--memory', '256M', '--vcpus', '1', '-n', 'h2');
      expect(add.code).toBe(0); // the rest of the cluster goes on
    } finally {
      execFileSync('ip', ['-n', `${PREFIX}-h1`, 'link', 'set', 'eth0', 'up']);
    }
    expect(await nodeStatus()).toEqual({ h1: 'ok', h2: 'ok' });
    expect(await instanceStatus('web')).toBe('running');
  });

  it('a daemon frozen with SIGSTOP: unreachable within the bound, then ok once it is thawed', async () => {
    const pid = noded('h2');
    process.kill(pid, 'SIGSTOP');
    try {
      expect(await nodeStatus()).toEqual({ h1: 'ok', h2: 'unreachable' });
      expect(await instanceStatus('api')).toBe('ERROR_nodedown');
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    expect(await nodeStatus()).toEqual({ h1: 'ok', h2: 'ok' });
  });

  it("a move to a frozen host: the migrate fails within its bounds and web runs on h1 still; what h2 could not undo is done once it is thawed", async () => {
    const h2Guests = join(work, 'h2', 'hypervisor', 'h2', 'fake-hv');
    const pid = noded('h2');
    process.kill(pid, 'SIGSTOP');
    let migrate: { code: number; stderr: string };
    try {
      migrate = await oplWithin(150_000, 'instance', 'migrate', 'web', '-n', 'h2');
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    expect(migrate.code).toBe(1);
    expect(migrate.stderr).toMatch(/node h2 .*(unreachable|does not answer)/);
    const web = (await json<{ name: string; primaryNode: string; status: string }[]>('instance', 'list')).find((i) => i.name === 'web')!;
    expect(web).toMatchObject({ primaryNode: 'h1', status: 'running' });
    // A request the frozen daemon had in its socket may run once it is thawed; what the
    // saga could not undo there is owed by h2, and repairing h2 does it.
    const repair = await oplWithin(60_000, 'node', 'repair', 'h2');
    expect(repair.code, repair.stderr).toBe(0);
    expect((await opl('node', 'info', 'h2')).stdout).toMatch(/^Undos owed: +none$/m);
    expect(existsSync(join(h2Guests, 'web.json'))).toBe(false);
    const verify = await opl('cluster', 'verify');
    expect(verify.code, verify.stdout).toBe(0);
  }, 300_000);

  it('a dead host: marked offline with its instance on it, failed over to h2 without it', async () => {
    process.kill(noded('h1'), 'SIGKILL');
    expect((await nodeStatus()).h1).toBe('unreachable');
    expect((await opl('node', 'modify', 'h1', '--offline', 'yes')).code).toBe(0);
    expect(await instanceStatus('web')).toBe('ERROR_nodeoffline');
    const failover = await opl('instance', 'failover', 'web', '-n', 'h2', '--ignore-consistency');
    expect(failover.code, failover.stderr).toBe(0);
    expect(await instanceStatus('web')).toBe('running');
    expect(await nodeStatus()).toEqual({ h1: 'offline', h2: 'ok' });
  });
});
