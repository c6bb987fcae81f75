import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync, copyFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { newSite, ok, type Site } from './opl.js';

/** `opl instance migrate NAME --cleanup`: the record brought back in line with the world. */
const drivers = fileURLToPath(new URL('../fixtures/drivers', import.meta.url));
interface Instance { primaryNode: string; adminState: string }
interface Logged { type: string; data: Record<string, unknown> }

const hvFile = (site: Site, node: string, instance: string) => join(site.dataDir, 'nodes', node, 'fake-hv', `${instance}.json`);
const running = (site: Site, node: string, instance: string) => existsSync(hvFile(site, node, instance));
const calls = (volumes: string) => readFileSync(join(volumes, 'calls'), 'utf8').trim().split('\n');

const setUp = async (driver: string, disks = 1) => {
  const site = newSite();
  site.env.OPL_STORAGE_DRIVER_PATH = drivers;
  const volumes = mkdtempSync(join(tmpdir(), 'opl-vol-'));
  await ok(site.opl('cluster', 'init', 'cu'));
  await ok(site.opl('group', 'add', 'ga'));
  for (const n of ['a1', 'a2', 'a3']) await ok(site.opl('node', 'add', n, '--group', 'ga', '--memory', '4G', '--cpus', '4'));
  await ok(site.opl('cluster', 'modify', '--add-pool', 'nas', driver, '--pool-param', `dir=${volumes}`));
  await ok(site.opl('group', 'modify', 'ga', '--connect-pool', 'nas'));
  await ok(site.opl('instance', 'add', 'app', '-t', 'ext:nas', '--memory', '1G', '--vcpus', '1', '-n', 'a1', ...Array.from({ length: disks }, (_, d) => ['--disk', `${d}:size=1M`]).flat()));
  return { site, volumes };
};

const domainEvents = async (site: Site) => (await site.json<Logged[]>('audit', 'log', '--instance', 'app')).filter((e) => !/^(Job|Opcode)/.test(e.type));

describe('opl: instance migrate --cleanup', () => {
  it('detaches the disks a failed move left on its target when the undo failed too', async () => {
    const { site, volumes } = await setUp('undo-fails', 2);
    writeFileSync(join(volumes, 'detach-broken'), '');
    const failed = await site.opl('instance', 'migrate', 'app', '-n', 'a2');
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/could not undo \(detaching disk 0 of app \(ext:nas app\.0\) from node a2\).*clean it up by hand/);
    rmSync(join(volumes, 'detach-broken'));
    const cleaned = await ok(site.opl('instance', 'migrate', 'app', '--cleanup'));
    expect(cleaned.stderr).toMatch(/cleanup: asked a1, a2, a3: app runs on a1; its disks may be attached on a2\n/);
    expect(calls(volumes).slice(-2)).toEqual(['detach app.0 a2', 'detach app.1 a2']);
    expect(await site.json<Instance>('instance', 'info', 'app')).toMatchObject({ primaryNode: 'a1', adminState: 'up' });
    expect((await domainEvents(site)).at(-1)).toMatchObject({ type: 'InstanceCleanedUp' });
    const again = await ok(site.opl('instance', 'migrate', 'app', '--cleanup'));
    expect(again.stderr).toMatch(/nothing to do/);
  });

  it('records a move that happened but was never recorded', async () => {
    const { site, volumes } = await setUp('call-log');
    // The hypervisors moved it (by hand, or an engine that was lost and gave up).
    mkdirSync(join(site.dataDir, 'nodes', 'a2', 'fake-hv'), { recursive: true });
    renameSync(hvFile(site, 'a1', 'app'), hvFile(site, 'a2', 'app'));
    await ok(site.opl('instance', 'migrate', 'app', '--cleanup'));
    expect(await site.json<Instance>('instance', 'info', 'app')).toMatchObject({ primaryNode: 'a2', adminState: 'up' });
    expect([running(site, 'a1', 'app'), running(site, 'a2', 'app')]).toEqual([false, true]);
    expect(calls(volumes).slice(-2)).toEqual(['attach app.0 a2', 'detach app.0 a1']);
    expect((await domainEvents(site)).at(-1)).toMatchObject({ type: 'InstanceMoved', data: { how: 'live-migration' } });
  });

  it('stops a second copy running beside the primary', async () => {
    const { site, volumes } = await setUp('call-log');
    mkdirSync(join(site.dataDir, 'nodes', 'a3', 'fake-hv'), { recursive: true });
    copyFileSync(hvFile(site, 'a1', 'app'), hvFile(site, 'a3', 'app'));
    await ok(site.opl('instance', 'migrate', 'app', '--cleanup'));
    expect([running(site, 'a1', 'app'), running(site, 'a3', 'app')]).toEqual([true, false]);
    expect(calls(volumes).at(-1)).toBe('detach app.0 a3');
    expect((await site.json<Instance>('instance', 'info', 'app')).primaryNode).toBe('a1');
  });

  it('refuses what it cannot settle alone, and changes nothing', async () => {
    const { site } = await setUp('call-log');
    for (const n of ['a2', 'a3']) {
      mkdirSync(join(site.dataDir, 'nodes', n, 'fake-hv'), { recursive: true });
      copyFileSync(hvFile(site, 'a1', 'app'), hvFile(site, n, 'app'));
    }
    rmSync(hvFile(site, 'a1', 'app'));
    const before = await domainEvents(site);
    const twice = await site.opl('instance', 'migrate', 'app', '--cleanup');
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/instance 'app' runs on a2 and a3, neither its primary 'a1'; stop it by hand on all but one/);
    for (const n of ['a2', 'a3']) rmSync(hvFile(site, n, 'app'));
    const nowhere = await site.opl('instance', 'migrate', 'app', '--cleanup');
    expect(nowhere.stderr).toMatch(/instance 'app' runs on no node; start it with 'opl instance start app'/);
    expect(await domainEvents(site)).toEqual(before);
    expect((await site.opl('instance', 'migrate', 'app', '--cleanup', '-n', 'a2')).stderr).toMatch(/migrate --cleanup moves nothing: give neither -n nor -I/);
    expect((await site.opl('instance', 'failover', 'app', '--cleanup')).stderr).toMatch(/--cleanup is for migrate/);
  });
});
