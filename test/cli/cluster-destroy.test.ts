import { describe, expect, it } from 'vitest';
import { newSite, ok } from './opl.js';

/** Ganeti's gnt-cluster destroy: only an empty cluster, only by name, only when confirmed. */
describe('opl cluster destroy', () => {
  it('asks (or wants -f), refuses a cluster with nodes or another name, then destroys and lets init begin again', async () => {
    const site = newSite();
    await ok(site.opl('cluster', 'init', 'old'));
    await ok(site.opl('group', 'add', 'g'));
    await ok(site.opl('node', 'add', 'n1', '--group', 'g', '--memory', '1G', '--cpus', '1'));
    const unasked = await site.opl('cluster', 'destroy', 'old');
    expect([unasked.code, unasked.stderr]).toEqual([2, 'opl: cluster destroy: not confirmed and there is no terminal to ask on; add -f (--force) to go ahead\n']);
    const busy = await site.opl('cluster', 'destroy', 'old', '-f');
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(/cluster 'old' still has nodes: n1; remove them first \(in_use\)/);
    await ok(site.opl('node', 'remove', 'n1', '-f'));
    const wrong = await site.opl('cluster', 'destroy', 'prod', '-f');
    expect(wrong.stderr).toMatch(/this cluster is 'old', not 'prod'/);
    await ok(site.opl('cluster', 'destroy', 'old', '-f'));
    expect((await site.opl('group', 'add', 'g2')).stderr).toMatch(/the cluster is not initialised/);
    await ok(site.opl('cluster', 'init', 'new'));
    await ok(site.opl('group', 'add', 'g'));
    const events = (await site.json<{ type: string; stream: string }[]>('audit', 'log')).filter((e) => e.stream === 'cluster').map((e) => e.type);
    expect(events).toEqual(['ClusterInitialized', 'GroupAdded', 'NodeAdded', 'NodeRemoved', 'ClusterDestroyed', 'ClusterInitialized', 'GroupAdded']);
  }, 300_000);
});
