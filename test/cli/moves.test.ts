import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { newSite, ok, recorded, type Site } from './opl.js';

const drivers = [fileURLToPath(new URL('../../examples/drivers', import.meta.url)), fileURLToPath(new URL('../fixtures/drivers', import.meta.url))].join(':');
interface Instance { name: string; primaryNode: string; adminState: string }
interface Node { name: string; memoryFree: number }
interface Logged { type: string; data: Record<string, unknown> }

const running = (site: Site, node: string, instance: string) => existsSync(join(site.dataDir, 'nodes', node, 'fake-hv', `${instance}.json`));

const cluster = async () => {
  const site = newSite();
  site.env.OPL_STORAGE_DRIVER_PATH = drivers;
  const shared = mkdtempSync(join(tmpdir(), 'opl-shared-'));
  const volumes = mkdtempSync(join(tmpdir(), 'opl-vol-'));
  await ok(site.opl('cluster', 'init', 'mv', '--shared-file-storage-dir', shared));
  await ok(site.opl('group', 'add', 'ga'));
  await ok(site.opl('group', 'add', 'gb'));
  for (const [n, g] of [['a1', 'ga'], ['a2', 'ga'], ['b1', 'gb']]) await ok(site.opl('node', 'add', n!, '--group', g!, '--memory', '4G', '--cpus', '4'));
  return { site, volumes };
};

describe('opl: migrate and failover to a chosen node', () => {
  it('migrates an ext instance live within the pool\'s groups, step by recorded step, and refuses elsewhere', async () => {
    const { site, volumes } = await cluster();
    await ok(site.opl('cluster', 'modify', '--add-pool', 'nas', 'filepool', '--pool-param', `dir=${volumes}`));
    await ok(site.opl('group', 'modify', 'ga', '--connect-pool', 'nas'));
    await ok(site.opl('instance', 'add', 'web', '-t', 'ext:nas', '--memory', '1G', '--vcpus', '1', '-n', 'a1', '--disk', '0:size=8M'));

    const mobility = await site.json<{ nodes: { node: string; candidate: boolean; reason: string }[] }>('instance', 'mobility', 'web');
    expect(mobility.nodes.map((n) => [n.node, n.candidate])).toEqual([['a1', false], ['a2', true], ['b1', false]]);
    const outside = await site.opl('instance', 'migrate', 'web', '-n', 'b1');
    expect(outside.stderr).toMatch(/node 'b1' is not in the mobility domain of 'web': group 'gb' is not connected to pool nas/);

    const moved = await ok(site.opl('instance', 'migrate', 'web', '-n', 'a2'));
    expect(moved.stderr.split('\n').filter((l) => l.includes(' * ')).map((l) => l.split(' * ')[1])).toEqual([
      'attaching disk 0 of web (ext:nas web.disk0) on node a2',
      'starting instance web on node a2',
      'cleaning up instance web on node a1',
      'detaching disk 0 of web (ext:nas web.disk0) from node a1',
    ]);
    expect(await site.json<Instance>('instance', 'info', 'web')).toMatchObject({ primaryNode: 'a2', adminState: 'up' });
    expect(running(site, 'a2', 'web')).toBe(true);
    expect(running(site, 'a1', 'web')).toBe(false);
    const nodes = await site.json<Node[]>('node', 'list');
    expect(nodes.map((n) => [n.name, n.memoryFree])).toEqual([['a1', 4096], ['a2', 3072], ['b1', 4096]]);
    const events = await site.json<Logged[]>('audit', 'log', '--instance', 'web');
    // add: create + start; the refused migrate: none; the migrate: four steps.
    expect(events.filter((e) => e.type === 'SagaStepSucceeded')).toHaveLength(6);
    expect(events.filter((e) => e.type === 'StorageDriverCalled').map((e) => `${e.data.action}@${e.data.node}`)).toEqual([
      'create@a1',
      'attach@a1', // the create is believed once attach finds the volume,
      'detach@a1', // which is let go of again
      'attach@a2',
      'detach@a1',
    ]);
    const replay = await site.json<{ instances: unknown[]; nodes: unknown[] }>('audit', 'replay');
    expect(replay.nodes).toEqual(recorded(nodes));
    expect((await site.opl('instance', 'stop', 'web')).code).toBe(0);
    expect((await site.opl('instance', 'migrate', 'web', '-n', 'a1')).stderr).toMatch(/is not running; move a stopped instance with 'opl instance failover'/);
  });

  it('fails over a sharedfile instance across groups without touching an offline primary', async () => {
    const { site } = await cluster();
    await ok(site.opl('instance', 'add', 'files', '-t', 'sharedfile', '--memory', '1G', '--vcpus', '1', '-n', 'a1', '--disk', '0:size=8M'));
    await ok(site.opl('instance', 'stop', 'files'));
    await ok(site.opl('node', 'modify', 'a1', '--offline', 'yes'));
    const r = await ok(site.opl('instance', 'failover', 'files', '-n', 'b1'));
    expect(r.stderr).not.toMatch(/node a1/);
    expect(await site.json<Instance>('instance', 'info', 'files')).toMatchObject({ primaryNode: 'b1', adminState: 'down' });
    await ok(site.opl('instance', 'start', 'files'));
    expect(running(site, 'b1', 'files')).toBe(true);
  });

  it('refuses to move a local-template instance, saying why', async () => {
    const { site } = await cluster();
    await ok(site.opl('instance', 'add', 'loc', '-t', 'file', '--memory', '1G', '--vcpus', '1', '-n', 'a1', '--disk', '0:size=1M'));
    expect((await site.opl('instance', 'migrate', 'loc', '-n', 'a2')).stderr).toMatch(/'file' disks live on one node only, so the instance cannot migrate/);
    expect((await site.opl('instance', 'failover', 'loc', '-n', 'a2')).stderr).toMatch(/cannot failover/);
  });

  it('a SIGKILLed engine in the middle of a migration: the next engine carries it to a consistent end', async () => {
    const { site, volumes } = await cluster();
    await ok(site.opl('cluster', 'modify', '--add-pool', 'slow', 'slow-attach', '--pool-param', `dir=${volumes}`));
    await ok(site.opl('group', 'modify', 'ga', '--connect-pool', 'slow'));
    await ok(site.opl('instance', 'add', 'app', '-t', 'ext:slow', '--memory', '1G', '--vcpus', '1', '-n', 'a1', '--disk', '0:size=1M'));
    // The victim's job id is known before it starts: job ids are gap-free.
    const jobId = String((await site.json<unknown[]>('job', 'list')).length + 1);
    const victim = site.spawn('instance', 'migrate', 'app', '-n', 'a2');
    const exited = once(victim, 'exit');
    // The driver logs its call, then takes 2 s to attach: watch its log (cheap, so polled often)
    // rather than the job (an opl run per look, slow under load) and kill the engine at once.
    const callLog = join(volumes, 'calls');
    const attachingOnTarget = () => existsSync(callLog) && readFileSync(callLog, 'utf8').split('\n').includes('attach app.0 a2');
    for (const deadline = Date.now() + 60_000; !attachingOnTarget() && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 10));
    victim.kill('SIGKILL');
    await exited;
    const log = await site.opl('job', 'info', jobId, '--output', 'json');
    const midAttach = attachingOnTarget() && log.code === 0 && log.stdout.includes('attaching disk 0 of app');
    expect(midAttach).toBe(true);
    expect((await site.json<Instance>('instance', 'info', 'app')).primaryNode).toBe('a1');

    await ok(site.opl('debug', 'delay', '0'));
    const job = await site.json<{ status: string; opcodes: { attempts: number }[] }>('job', 'info', jobId);
    expect(job).toMatchObject({ status: 'success', opcodes: [{ attempts: 2 }] });
    expect(await site.json<Instance>('instance', 'info', 'app')).toMatchObject({ primaryNode: 'a2', adminState: 'up' });
    expect(running(site, 'a2', 'app')).toBe(true);
    expect(running(site, 'a1', 'app')).toBe(false);
    const calls = readFileSync(join(volumes, 'calls'), 'utf8').trim().split('\n');
    expect(calls.at(-1)).toBe('detach app.0 a1');
    expect(calls.filter((c) => c === 'attach app.0 a2').length).toBeGreaterThanOrEqual(1);
  });

  it('undoes the target side when a step fails there, and the instance stays on its source', async () => {
    const { site, volumes } = await cluster();
    await ok(site.opl('cluster', 'modify', '--add-pool', 'flaky', 'attach-fails', '--pool-param', `dir=${volumes}`));
    await ok(site.opl('group', 'modify', 'ga', '--connect-pool', 'flaky'));
    await ok(site.opl('instance', 'add', 'db', '-t', 'ext:flaky', '--memory', '1G', '--vcpus', '1', '-n', 'a1', '--disk', '0:size=1M', '--disk', '1:size=1M'));
    // Creating checked each volume with attach and detach on a1; the move's calls come after.
    const before = readFileSync(join(volumes, 'calls'), 'utf8').trim().split('\n').length;
    const r = await site.opl('instance', 'migrate', 'db', '-n', 'a2');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/attach-fails: disk 1 is not visible from a2/);
    expect(readFileSync(join(volumes, 'calls'), 'utf8').trim().split('\n').slice(before)).toEqual(['attach db.0 a2', 'attach db.1 a2', 'detach db.0 a2']);
    expect(await site.json<Instance>('instance', 'info', 'db')).toMatchObject({ primaryNode: 'a1', adminState: 'up' });
    expect(running(site, 'a1', 'db')).toBe(true);
    expect(running(site, 'a2', 'db')).toBe(false);
  });
});
