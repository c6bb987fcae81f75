import { describe, expect, it } from 'vitest';
import { newSite, ok, recorded, type Site } from './opl.js';

interface Instance { name: string; primaryNode: string; adminState: string; memory: number; vcpus: number; diskTemplate: string; uuid: string; secondaryNodes: string[]; disks: unknown[] }
interface Job { id: number; status: string; opcodes: { type: string; status: string }[]; submittedAt: string; endedAt: string | null }

/**
 * The acceptance scenario, once per store: 2 groups, 6 nodes, 200 instances added by
 * 4 concurrent `opl` processes, every job a success, and the replayed log equal to
 * the live views.
 */
export const describeClusterLifecycle = (storeName: string, storeUrl: () => string | undefined): void => {
  describe(`opl on ${storeName}: a cluster built by concurrent processes`, () => {
    it('adds 200 instances from 4 processes; every job succeeds and replay equals the live views', async () => {
      const site: Site = newSite(storeUrl());
      await ok(site.opl('cluster', 'init', 'e2e'));
      await ok(site.opl('group', 'add', 'ga'));
      await ok(site.opl('group', 'add', 'gb'));
      for (let n = 1; n <= 6; n++) {
        await ok(site.opl('node', 'add', `node${n}`, '--group', n <= 3 ? 'ga' : 'gb', '--memory', '64G', '--cpus', '32'));
      }
      const perWorker = 50;
      await Promise.all(
        Array.from({ length: 4 }, async (_, w) => {
          for (let i = 0; i < perWorker; i++) {
            const n = w * perWorker + i;
            await ok(site.opl('instance', 'add', `inst${n}`, '-t', 'diskless', '--memory', '256', '--vcpus', '1', '-n', `node${(n % 6) + 1}`));
          }
        }),
      );
      const instances = await site.json<Instance[]>('instance', 'list');
      expect(instances).toHaveLength(200);
      expect(instances.every((i) => i.adminState === 'up' && i.diskTemplate === 'diskless' && i.secondaryNodes.length === 0)).toBe(true);
      const jobs = await site.json<Job[]>('job', 'list');
      expect(jobs).toHaveLength(209);
      expect(jobs.filter((j) => j.status !== 'success')).toEqual([]);
      expect(jobs.map((j) => j.id)).toEqual(jobs.map((_, i) => i + 1));
      const nodes = await site.json<{ name: string; memoryFree: number; primaryInstances: string[] }[]>('node', 'list');
      for (const node of nodes) expect(node.memoryFree).toBe(65536 - 256 * node.primaryInstances.length);
      expect(nodes.reduce((sum, n) => sum + n.primaryInstances.length, 0)).toBe(200);

      const replay = await site.json<{ instances: Instance[]; nodes: unknown[]; groups: unknown[]; jobs: Job[]; cluster: unknown }>('audit', 'replay');
      // Every guest runs where it was recorded, as the nodes report it now; the rest is the record.
      expect(instances.filter((i) => (i as { status?: string }).status !== 'running')).toEqual([]);
      expect(replay.instances).toEqual(recorded(instances));
      expect(replay.nodes).toEqual(recorded(nodes));
      expect(replay.groups).toEqual(await site.json('group', 'list'));
      expect(replay.jobs).toEqual(jobs);
      const { dataDir: _dataDir, ...cluster } = await site.json<Record<string, unknown>>('cluster', 'info');
      expect(replay.cluster).toEqual(cluster);
    }, 300_000);

    it('shows the cluster as it was at an earlier position and time', async () => {
      const site = newSite(storeUrl());
      await ok(site.opl('cluster', 'init', 'tt'));
      await ok(site.opl('group', 'add', 'g'));
      await ok(site.opl('node', 'add', 'n1', '--group', 'g', '--memory', '4G', '--cpus', '4'));
      await ok(site.opl('instance', 'add', 'early', '-t', 'diskless', '--memory', '1G', '--vcpus', '1', '-n', 'n1'));
      const mark = await site.json<{ position: number }>('audit', 'replay');
      const markTime = new Date().toISOString();
      // Later events must carry a later time than the mark: wait for the clock to pass it.
      while (Date.now() <= Date.parse(markTime)) await new Promise((r) => setTimeout(r, 1));
      await ok(site.opl('instance', 'add', 'late', '-t', 'diskless', '--memory', '1G', '--vcpus', '1', '-n', 'n1'));
      await ok(site.opl('instance', 'remove', 'early', '-f'));
      const now = await site.json<{ instances: Instance[] }>('audit', 'replay');
      expect(now.instances.map((i) => i.name)).toEqual(['late']);
      const then = await site.json<{ instances: Instance[]; position: number }>('audit', 'replay', '--until-position', String(mark.position));
      expect(then.instances.map((i) => i.name)).toEqual(['early']);
      expect(then.position).toBe(mark.position);
      const atTime = await site.json<{ instances: Instance[] }>('audit', 'replay', '--until-time', markTime);
      expect(atTime.instances.map((i) => i.name)).toEqual(['early']);
      const log = await site.json<{ type: string; metadata: { actor: string; jobId?: number } }[]>('audit', 'log', '--instance', 'early');
      expect(log.map((e) => e.type)).toEqual(expect.arrayContaining(['JobSubmitted', 'InstanceAdded', 'InstanceStarted', 'InstanceStopped', 'InstanceRemoved', 'JobFinished']));
      expect(log.some((e) => e.type === 'InstanceAdded' && e.metadata.actor === 'e2e-tester' && e.metadata.jobId === 4)).toBe(true);
      expect(log.some((e) => JSON.stringify(e).includes('"late"'))).toBe(false);
    });
  });
};
