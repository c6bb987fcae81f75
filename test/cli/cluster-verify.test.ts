import { copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newSite, ok, type Site } from './opl.js';

/**
 * `cluster verify` and the status words against a cluster changed behind its back: the
 * local nodes' hypervisor state is edited directly (a guest that died, one started by
 * hand, one running on the wrong node), and a group is filled past N+1.
 */
interface Report {
  ok: boolean;
  problems: { node?: string; group?: string; problem: string }[];
  nodes: { node: string; status: string; clockSkewMs: number | null }[];
  groups: { group: string; onlineNodes: number; redundant: boolean }[];
}
interface InstanceRow { name: string; status: string }

let site: Site;
const EXAMPLE_FILEPOOL = fileURLToPath(new URL('../../examples/drivers/filepool', import.meta.url));
const hv = (node: string, instance: string) => join(site.dataDir, 'nodes', node, 'fake-hv', `${instance}.json`);
const statuses = async () => Object.fromEntries((await site.json<InstanceRow[]>('instance', 'list')).map((i) => [i.name, i.status]));
const verify = async () => {
  const result = await site.opl('cluster', 'verify', '--output', 'json');
  return { code: result.code, report: JSON.parse(result.stdout) as Report };
};

beforeAll(async () => {
  site = newSite();
  await ok(site.opl('cluster', 'init', 'c1'));
  await ok(site.opl('group', 'add', 'g1'));
  for (const n of ['n1', 'n2', 'n3']) await ok(site.opl('node', 'add', n, '--group', 'g1', '--memory', '4G', '--cpus', '4'));
  await ok(site.opl('instance', 'add', 'a', '-t', 'diskless', '--memory', '512M', '--vcpus', '1', '-n', 'n1'));
  await ok(site.opl('instance', 'add', 'b', '-t', 'diskless', '--memory', '512M', '--vcpus', '1', '-n', 'n2'));
  await ok(site.opl('instance', 'add', 'c', '-t', 'diskless', '--memory', '512M', '--vcpus', '1', '-n', 'n3', '--no-start'));
}, 60_000);

afterAll(() => rmSync(site.dataDir, { recursive: true, force: true }));

describe('cluster verify against a cluster changed behind its back', () => {
  it('finds nothing in a cluster as recorded, and says so per node and group', async () => {
    const { code, report } = await verify();
    expect(code).toBe(0);
    expect(report).toMatchObject({ ok: true, problems: [], groups: [{ group: 'g1', onlineNodes: 3, redundant: true }] });
    expect(report.nodes.map((n) => [n.node, n.status])).toEqual([['n1', 'ok'], ['n2', 'ok'], ['n3', 'ok']]);
    expect(await statuses()).toEqual({ a: 'running', b: 'running', c: 'ADMIN_down' });
  });

  it('names a guest that died, one started by hand, one on the wrong node and a stranger, and exits 1', async () => {
    rmSync(hv('n1', 'a')); // died
    mkdirSync(join(site.dataDir, 'nodes', 'n3', 'fake-hv'), { recursive: true });
    copyFileSync(hv('n2', 'b'), hv('n3', 'c')); // c "started" by hand on its own node
    rmSync(hv('n2', 'b'));
    writeFileSync(hv('n1', 'b'), '{}'); // b now runs on n1, not its primary n2
    writeFileSync(hv('n3', 'stray'), '{}');
    expect(await statuses()).toEqual({ a: 'ERROR_down', b: 'ERROR_wrongnode', c: 'ERROR_up' });
    const { code, report } = await verify();
    expect(code).toBe(1);
    expect(report.ok).toBe(false);
    expect(report.problems.filter((p) => p.node).map((p) => `${p.node}: ${p.problem}`)).toEqual([
      'n1: runs instance b, whose primary node is n2',
      'n1: does not run instance a, which should be running (ERROR_down)',
      'n2: does not run instance b, which should be running (ERROR_down)',
      'n3: runs instance c, which should be stopped (ERROR_up)',
      "n3: runs 'stray', which is not an instance of this cluster",
    ]);
    const text = await site.opl('cluster', 'verify');
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^cluster verify: 3 nodes checked \(3 of 3 asked answered\), 1 group\nERROR: node n1: runs instance b/);
  });

  it('reports a group that is no longer N+1 redundant', async () => {
    for (const f of [hv('n1', 'b'), hv('n3', 'stray'), hv('n3', 'c')]) rmSync(f);
    await ok(site.opl('instance', 'startup', 'a'));
    await ok(site.opl('instance', 'startup', 'b'));
    await ok(site.opl('instance', 'remove', 'c', '-f'));
    // Nothing else could hold it if its node failed: n1 and n2 have 3584 MiB left each.
    await ok(site.opl('instance', 'add', 'big', '-t', 'diskless', '--memory', '3700M', '--vcpus', '1', '-n', 'n3'));
    const { code, report } = await verify();
    expect(code).toBe(1);
    expect(report.problems).toEqual([{ group: 'g1', problem: expect.stringMatching(/^is not N\+1 redundant: if one of its 3 online node\(s\) failed/) }]);
    expect(report.groups).toEqual([{ group: 'g1', onlineNodes: 3, redundant: false }]);
  });

  it('reports a pool whose driver lost an executable or is gone, for the group connected to it', async () => {
    const filepool = join(site.dataDir, 'drivers', 'filepool');
    mkdirSync(filepool, { recursive: true });
    for (const f of readdirSync(EXAMPLE_FILEPOOL)) copyFileSync(join(EXAMPLE_FILEPOOL, f), join(filepool, f));
    site.env.OPL_STORAGE_DRIVER_PATH = join(site.dataDir, 'drivers');
    await ok(site.opl('cluster', 'modify', '--add-pool', 'nas', 'filepool', '--pool-param', `dir=${join(site.dataDir, 'volumes')}`));
    await ok(site.opl('group', 'modify', 'g1', '--connect-pool', 'nas'));
    const driverLines = async () => (await verify()).report.problems.filter((p) => /driver/.test(p.problem));
    expect(await driverLines()).toEqual([]);
    rmSync(join(filepool, 'create'));
    expect(await driverLines()).toEqual([{ group: 'g1', problem: `pool 'nas': storage driver 'filepool' (${filepool}) has no create executable` }]);
    rmSync(filepool, { recursive: true });
    expect(await driverLines()).toEqual([{ group: 'g1', problem: `pool 'nas': storage driver 'filepool' is not there (recorded at ${filepool})` }]);
  });
});
