import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { newSite, ok, type Site } from './opl.js';

const MIB = 1024 * 1024;
const examples = fileURLToPath(new URL('../../examples/drivers', import.meta.url));
const fixtures = fileURLToPath(new URL('../fixtures/drivers', import.meta.url));

interface Instance { name: string; disks: { index: number; size: number; logicalId: string; pool: string | null }[] }
interface Pool { name: string; driver: string; driverDir: string | null; groups: string[]; instances: string[]; params: Record<string, string> }
interface Logged { type: string; stream: string; data: Record<string, unknown> }

const driverCalls = async (site: Site) =>
  (await site.json<Logged[]>('audit', 'log')).filter((e) => e.type === 'StorageDriverCalled').map((e) => e.data);
const domainEvents = async (site: Site) => (await site.json<Logged[]>('audit', 'log')).filter((e) => e.stream === 'cluster').map((e) => e.type);

const cluster = async (): Promise<Site & { volumes: string }> => {
  const site = newSite();
  site.env.OPL_STORAGE_DRIVER_PATH = `${examples}:${fixtures}`;
  const volumes = mkdtempSync(join(tmpdir(), 'opl-pool-'));
  await ok(site.opl('cluster', 'init', 'ext'));
  await ok(site.opl('group', 'add', 'ga'));
  await ok(site.opl('group', 'add', 'gb'));
  await ok(site.opl('node', 'add', 'a1', '--group', 'ga', '--memory', '8G', '--cpus', '4'));
  await ok(site.opl('node', 'add', 'b1', '--group', 'gb', '--memory', '8G', '--cpus', '4'));
  return Object.assign(site, { volumes });
};

const addPool = (site: Site & { volumes: string }, name: string, driver: string, ...extra: string[]) =>
  ok(site.opl('cluster', 'modify', '--add-pool', name, driver, '--pool-param', `dir=${site.volumes}`, ...extra));

describe('opl: storage pools and drivers', () => {
  let site: Site & { volumes: string };
  beforeAll(async () => {
    site = await cluster();
    await addPool(site, 'nas1', 'filepool');
  });

  it('creates, grows, renames and removes ext:POOL disks through the driver, recording every call', async () => {
    const connect = await site.opl('instance', 'add', 'e1', '-t', 'ext:nas1', '--memory', '1G', '--vcpus', '1', '-n', 'a1', '--disk', '0:size=100M');
    expect(connect.code).toBe(1);
    expect(connect.stderr).toMatch(/storage pool 'nas1' is not connected to node group 'ga' of node 'a1'; connect it with 'opl group modify ga --connect-pool nas1'/);
    await ok(site.opl('group', 'modify', 'ga', '--connect-pool', 'nas1'));
    await ok(site.opl('instance', 'add', 'e1', '-t', 'ext:nas1', '--memory', '1G', '--vcpus', '1', '-n', 'a1', '--disk', '0:size=100M', '--disk', '1:size=10M,stripes=2'));
    expect(statSync(join(site.volumes, 'e1.disk0')).size).toBe(100 * MIB);
    const info = await site.json<Instance>('instance', 'info', 'e1');
    expect(info.disks.map((d) => [d.logicalId, d.size, d.pool])).toEqual([['e1.disk0', 100, 'nas1'], ['e1.disk1', 10, 'nas1']]);

    await ok(site.opl('instance', 'grow-disk', 'e1', '0', '28M'));
    expect(statSync(join(site.volumes, 'e1.disk0')).size).toBe(128 * MIB);
    await ok(site.opl('instance', 'stop', 'e1'));
    await ok(site.opl('instance', 'rename', 'e1', 'e2'));
    expect(readdirSync(site.volumes).sort()).toEqual(['e2.disk0', 'e2.disk1']);
    expect((await site.json<Instance>('instance', 'info', 'e2')).disks.map((d) => d.logicalId)).toEqual(['e2.disk0', 'e2.disk1']);

    const pools = await site.json<Pool[]>('storage', 'pool', 'list');
    expect(pools).toEqual([{ name: 'nas1', driver: 'filepool', driverDir: join(examples, 'filepool'), params: { dir: site.volumes }, timeoutSeconds: 300, groups: ['ga'], instances: ['e2'] }]);

    const calls = await driverCalls(site);
    // Each create is believed once attach finds the volume (and detach lets it go again).
    expect(calls.map((c) => `${c.action}:${c.outcome}`)).toEqual(['create:ok', 'attach:ok', 'detach:ok', 'create:ok', 'attach:ok', 'detach:ok', 'resize:ok', 'rename:ok', 'rename:ok']);
    expect(calls[0]).toMatchObject({ driver: 'filepool', pool: 'nas1', node: 'a1', instance: 'e1', diskIndex: 0, exitCode: 0, logicalId: 'e1.disk0' });
    expect(typeof calls[0]!.durationMs).toBe('number');

    const replay = await site.json<{ instances: Instance[]; pools: Pool[] }>('audit', 'replay');
    // The listing adds what the nodes report now (status); the rest is the recorded view.
    expect(replay.instances).toEqual((await site.json<{ status: string }[]>('instance', 'list')).map(({ status: _now, ...recorded }) => recorded));
    expect(replay.pools).toEqual(pools);
  });

  it('refuses to remove or disconnect a pool in use, naming the instances, and a pool whose driver is missing', async () => {
    const remove = await site.opl('cluster', 'modify', '--remove-pool', 'nas1');
    expect(remove.stderr).toMatch(/storage pool 'nas1' is used by instances: e2 \(in_use\)/);
    const disconnect = await site.opl('group', 'modify', 'ga', '--disconnect-pool', 'nas1');
    expect(disconnect.stderr).toMatch(/instances of node group 'ga' still use storage pool 'nas1': e2/);
    const missing = await site.opl('cluster', 'modify', '--add-pool', 'x', 'no-such-driver');
    expect(missing.stderr).toMatch(/storage driver 'no-such-driver' was not found in /);
    const duplicate = await site.opl('cluster', 'modify', '--add-pool', 'nas1', 'filepool');
    expect(duplicate.stderr).toMatch(/storage pool 'nas1' already exists/);

    await ok(site.opl('instance', 'remove', 'e2', '-f'));
    expect(readdirSync(site.volumes)).toEqual([]);
    await ok(site.opl('group', 'modify', 'ga', '--disconnect-pool', 'nas1'));
    await ok(site.opl('cluster', 'modify', '--remove-pool', 'nas1'));
    expect(await site.json('storage', 'pool', 'list')).toEqual([]);
  });
});

describe('opl: storage driver diagnose', () => {
  it('says per node which drivers are valid and why not, failing when a pool\'s driver is invalid', async () => {
    const site = await cluster();
    const healthy = await site.json<{ drivers: { node: string; driver: string; valid: boolean; style: string; problems: string[] }[] }>('storage', 'driver', 'diagnose');
    const row = (node: string, driver: string) => healthy.drivers.find((d) => d.node === node && d.driver === driver);
    expect(row('a1', 'filepool')).toMatchObject({ valid: true, style: 'opledger', problems: [] });
    expect(row('b1', 'ganeti-style')).toMatchObject({ valid: true, style: 'ganeti' });
    expect(row('a1', 'silent')!.problems).toEqual(["no 'attach' executable", "no 'detach' executable", "neither 'resize' nor 'grow' is there", "no 'rename' executable"]);
    await addPool(site, 'broken', 'silent');
    const r = await site.opl('storage', 'driver', 'diagnose');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/a1\s+silent\s+INVALID\s+opledger\s+broken/);
  });
});

describe('opl: drivers that misbehave', () => {
  const misbehaving = async (driver: string, ...extra: string[]) => {
    const site = await cluster();
    await addPool(site, 'p', driver, ...extra);
    await ok(site.opl('group', 'modify', 'ga', '--connect-pool', 'p'));
    return site;
  };
  const add = (site: Site, ...disks: string[]) =>
    site.opl('instance', 'add', 'vm', '-t', 'ext:p', '--memory', '1G', '--vcpus', '1', '-n', 'a1', ...disks.flatMap((d) => ['--disk', d]));

  it('kills a driver that hangs past its timeout, fails the opcode as a timeout, and writes no instance', async () => {
    const site = await misbehaving('sleeper', '--driver-timeout', '1');
    const before = await domainEvents(site);
    const started = Date.now();
    const r = await add(site, '0:size=1M');
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/driver 'sleeper' create of disk 0 of vm on node a1 did not finish within 1s and was killed/);
    // The decision was recorded before the driver ran, and its undoing after: no instance, nothing held.
    expect(await domainEvents(site)).toEqual([...before, 'SagaBegun', 'SagaUndone']);
    expect(await site.json<unknown[]>('instance', 'list')).toEqual([]);
    const calls = await driverCalls(site);
    // Killed, it may have made something: the driver's remove is asked, by the name we proposed.
    expect(calls).toMatchObject([{ action: 'create', outcome: 'timeout', exitCode: null }, { action: 'remove', outcome: 'ok' }]);
    expect(calls[1]!.logicalId).toBeUndefined();
    const job = (await site.json<{ opcodes: { error: { kind: string } }[] }[]>('job', 'list')).at(-1)!;
    expect(job.opcodes[0]!.error.kind).toBe('timeout');
  });

  it('fails with the driver\'s own message when it exits non-zero, and logs its stderr', async () => {
    const site = await misbehaving('failing');
    const r = await add(site, '0:size=1M');
    expect(r.stderr).toMatch(/driver 'failing' create of disk 0 of vm on node a1 failed \(exit 1\): failing: the array is full/);
    const job = await site.json<{ opcodes: { log: { message: string }[] }[] }>('job', 'info', String((await site.json<unknown[]>('job', 'list')).length));
    expect(job.opcodes[0]!.log.map((l) => l.message)).toContain('failing create: failing: the array is full');
    expect(await site.json('instance', 'list')).toEqual([]);
  });

  it('fails a create that exits 0 without the logical id it owes, and asks the driver to remove what it may have made', async () => {
    const site = await misbehaving('silent');
    const r = await add(site, '0:size=1M');
    expect(r.stderr).toMatch(/create exited 0 but printed no logical id; the driver was asked to remove what it made/);
    const jobs = await site.json<{ id: number }[]>('job', 'list');
    const job = await site.json<{ opcodes: { log: { level: string; message: string }[] }[] }>('job', 'info', String(jobs.at(-1)!.id));
    expect(job.opcodes[0]!.log.some((l) => l.level === 'warning' && /create failed; asking the driver to remove what it may have made \(VOL_NAME=[0-9a-f-]+\.ext\.disk0\)/.test(l.message))).toBe(true);
    expect(await driverCalls(site)).toMatchObject([{ action: 'create', outcome: 'failed', exitCode: 0 }, { action: 'remove', outcome: 'ok' }]);
  });

  it('fails a resize that prints garbage and leaves the recorded size alone', async () => {
    const site = await misbehaving('garbage');
    await ok(add(site, '0:size=10M'));
    const r = await site.opl('instance', 'grow-disk', 'vm', '0', '10M');
    expect(r.stderr).toMatch(/resize printed "lots and lots of megabytes" where the new size in MiB was expected/);
    expect((await site.json<Instance>('instance', 'info', 'vm')).disks[0]!.size).toBe(10);
  });

  it('removes the disks it already made when a later one fails, so nothing leaks', async () => {
    const site = await misbehaving('second-fails');
    const r = await add(site, '0:size=1M', '1:size=1M');
    expect(r.stderr).toMatch(/second-fails: no room for disk 1/);
    expect(readdirSync(site.volumes)).toEqual([]);
    expect((await driverCalls(site)).map((c) => `${c.action}:${c.diskIndex}:${c.outcome}`)).toEqual([
      'create:0:ok',
      'attach:0:ok',
      'detach:0:ok',
      'create:1:failed',
      'remove:1:ok', // what the failed create may have made, without a LOGICAL_ID
      'remove:0:ok', // the saga's undo of disk 0
    ]);
  });
});

describe('opl: a Ganeti ExtStorage provider, run unchanged', () => {
  it('creates with VOL_NAME/VOL_SIZE/EXTP_*, grows with grow and VOL_NEW_SIZE, renames without a rename script, removes', async () => {
    const site = await cluster();
    await addPool(site, 'gp', 'ganeti-style');
    await ok(site.opl('group', 'modify', 'ga', '--connect-pool', 'gp'));
    await ok(site.opl('instance', 'add', 'gv', '-t', 'ext:gp', '--memory', '1G', '--vcpus', '1', '-n', 'a1', '--disk', '0:size=20M,tier=gold'));
    const disk = (await site.json<Instance>('instance', 'info', 'gv')).disks[0]!;
    expect(disk.logicalId).toMatch(/^[0-9a-f-]+\.ext\.disk0$/);
    expect(statSync(join(site.volumes, disk.logicalId)).size).toBe(20 * MIB);
    const env = readFileSync(join(site.volumes, `${disk.logicalId}.env`), 'utf8');
    expect(env).toContain(`VOL_NAME=${disk.logicalId}`);
    expect(env).toContain('VOL_SIZE=20');
    expect(env).toContain(`EXTP_DIR=${site.volumes}`);
    expect(env).toContain('EXTP_TIER=gold');
    await ok(site.opl('instance', 'grow-disk', 'gv', '0', '40M', '--absolute'));
    expect(statSync(join(site.volumes, disk.logicalId)).size).toBe(40 * MIB);
    await ok(site.opl('instance', 'stop', 'gv'));
    await ok(site.opl('instance', 'rename', 'gv', 'gw'));
    expect((await site.json<Instance>('instance', 'info', 'gw')).disks[0]!.logicalId).toBe(disk.logicalId);
    await ok(site.opl('instance', 'remove', 'gw', '-f'));
    expect(existsSync(join(site.volumes, disk.logicalId))).toBe(false);
  });
});
