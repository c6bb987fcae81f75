import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { newSite, ok, type Site } from './opl.js';

const fixtures = fileURLToPath(new URL('../fixtures/iallocators', import.meta.url));
const OPL_IALLOC = fileURLToPath(new URL('../../bin/opl-ialloc.js', import.meta.url));
interface Instance { primaryNode: string }
interface Job { status: string; opcodes: { log: { level: string; message: string }[] }[] }
interface Logged { type: string; data: Record<string, unknown> }

describe('opl: iallocators', () => {
  let site: Site;
  beforeAll(async () => {
    site = newSite();
    site.env.OPL_IALLOCATOR_PATH = fixtures;
    site.env.OPL_STORAGE_DRIVER_PATH = fileURLToPath(new URL('../../examples/drivers', import.meta.url));
    const shared = mkdtempSync(join(tmpdir(), 'opl-shared-'));
    await ok(site.opl('cluster', 'init', 'ia', '--shared-file-storage-dir', shared, '--blockdev-prefixes', '/dev/disk/by-id', '--iallocator-timeout', '2'));
    await ok(site.opl('group', 'add', 'ga'));
    await ok(site.opl('group', 'add', 'gb'));
    for (const n of ['a1', 'a2', 'a3']) await ok(site.opl('node', 'add', n, '--group', 'ga', '--memory', '8G', '--cpus', '4'));
    await ok(site.opl('node', 'add', 'b1', '--group', 'gb', '--memory', '8G', '--cpus', '4'));
    await ok(site.opl('cluster', 'modify', '--add-pool', 'nas', 'filepool', '--pool-param', `dir=${mkdtempSync(join(tmpdir(), 'opl-vol-'))}`));
    await ok(site.opl('group', 'modify', 'ga', '--connect-pool', 'nas'));
    await ok(site.opl('instance', 'add', 'web', '-t', 'ext:nas', '--memory', '1G', '--vcpus', '1', '-n', 'a1', '--disk', '0:size=4M'));
    await ok(site.opl('instance', 'add', 'big', '-t', 'ext:nas', '--memory', '6G', '--vcpus', '1', '-n', 'a2', '--disk', '0:size=4M'));
  });

  it('prints the request an allocator gets: Ganeti v2 with the mobility domain, nodes outside it left out', async () => {
    const request = await site.json<{ version: number; nodes: Record<string, unknown>; nodegroups: Record<string, { storage_pools: string[] }>; request: Record<string, unknown> }>('iallocator', 'request', 'relocate', 'web');
    expect(request.version).toBe(2);
    expect(Object.keys(request.nodes).sort()).toEqual(['a1', 'a2', 'a3']);
    expect(request.request).toMatchObject({ type: 'relocate', name: 'web', required_nodes: 1, relocate_from: ['a1'], mobility_domain: ['a2', 'a3'] });
    expect(Object.values(request.nodegroups)[0]!.storage_pools).toEqual(['nas']);
  });

  it('migrates with -I hail (Ganeti\'s own allocator) to a valid node, recording request and answer', async () => {
    await ok(site.opl('instance', 'migrate', 'web', '-I', 'hail'));
    const target = (await site.json<Instance>('instance', 'info', 'web')).primaryNode;
    // hail must pick a node of the domain with room: a2 has 2 GiB free after 'big', a3 8 GiB.
    expect(['a2', 'a3']).toContain(target);
    const consulted = (await site.json<Logged[]>('audit', 'log', '--instance', 'web')).filter((e) => e.type === 'IallocatorConsulted');
    expect(consulted).toHaveLength(1);
    expect(consulted[0]!.data).toMatchObject({ allocator: 'hail', program: '/usr/lib/ganeti/iallocators/hail', exitCode: 0, chosen: [target] });
    expect(JSON.parse(consulted[0]!.data.answer as string)).toMatchObject({ success: true, result: [target] });
    expect((consulted[0]!.data.request as { request: { type: string } }).request.type).toBe('relocate');
  });

  it('replays a recorded placement through the allocator, now and with another one', async () => {
    const jobs = await site.json<{ id: number; opcodes: { type: string }[] }[]>('job', 'list');
    const migration = jobs.filter((j) => j.opcodes[0]!.type === 'OP_INSTANCE_MIGRATE').at(-1)!;
    const same = await site.json<{ allocator: string; recorded: string[]; now: string[]; same: boolean }[]>('iallocator', 'replay', String(migration.id));
    expect(same).toEqual([{ allocator: 'hail', recorded: same[0]!.recorded, now: same[0]!.recorded, same: true, problem: null }]);
    const other = await site.opl('iallocator', 'replay', String(migration.id), '--with', 'outside');
    expect(other.code).toBe(1);
    expect(other.stdout).toMatch(/outside\s+\S+\s+b1\s+NO/);
    expect((await site.opl('iallocator', 'replay', '1')).stderr).toBe('opl: iallocator replay: job 1 consulted no iallocator\n');
  });

  it('accepts an allocator given by path that reads the request on stdin', async () => {
    const domain = (await site.json<{ nodes: { node: string; candidate: boolean }[] }>('instance', 'mobility', 'web')).nodes.filter((n) => n.candidate).map((n) => n.node);
    await ok(site.opl('instance', 'migrate', 'web', '-I', join(fixtures, 'stdin-reader')));
    expect((await site.json<Instance>('instance', 'info', 'web')).primaryNode).toBe(domain.at(-1));
  });

  it.each([
    ['a node outside the mobility domain', 'outside', /the answer names node 'b1', which is outside the mobility domain of 'web' .*\(its info: trust me\)/],
    ['garbage', 'garbage', /the answer is not JSON: "this is not json/],
    ['nothing', 'silent', /the answer is not JSON: ""/],
    ['the wrong number of nodes', 'greedy', /the answer names 2 nodes where 1 was asked for/],
    ['a crash', 'crashing', /exited 3: crashed: cannot read the request/],
    ['never (past the cluster\'s iallocator timeout)', 'sleeper', /did not answer within 2s and was killed/],
  ])('fails the opcode when the allocator answers %s, and the instance stays', async (_what, allocator, message) => {
    const before = (await site.json<Instance>('instance', 'info', 'web')).primaryNode;
    const r = await site.opl('instance', 'migrate', 'web', '-I', allocator);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(message);
    expect((await site.json<Instance>('instance', 'info', 'web')).primaryNode).toBe(before);
    const jobs = await site.json<{ id: number }[]>('job', 'list');
    const job = await site.json<Job>('job', 'info', String(jobs.at(-1)!.id));
    expect(job.opcodes[0]!.log.some((l) => l.level === 'error' && l.message.startsWith(`iallocator ${allocator}:`))).toBe(true);
  });

  it('places a new instance with -I hail, and reports hail\'s reason when nothing fits', async () => {
    await ok(site.opl('instance', 'add', 'fresh', '-t', 'ext:nas', '--memory', '1G', '--vcpus', '1', '-I', 'hail', '--disk', '0:size=4M'));
    const placed = (await site.json<Instance>('instance', 'info', 'fresh')).primaryNode;
    expect(['a1', 'a2', 'a3']).toContain(placed); // only group ga reaches pool nas
    const tooBig = await site.opl('instance', 'add', 'whale', '-t', 'ext:nas', '--memory', '100G', '--vcpus', '1', '-I', 'hail', '--disk', '0:size=4M');
    expect(tooBig.code).toBe(1);
    expect(tooBig.stderr).toMatch(/iallocator 'hail': the allocator found no placement: .*FailMem/);
    expect((await site.opl('instance', 'info', 'whale')).code).toBe(1);
  });

  it('evacuates a node with -I hail: running instances migrate, stopped ones fail over, one job each', async () => {
    const before = await site.json<{ name: string; primaryNode: string; adminState: string }[]>('instance', 'list');
    const source = before.find((i) => i.name === 'big')!.primaryNode;
    const onSource = before.filter((i) => i.primaryNode === source);
    await ok(site.opl('instance', 'stop', 'big'));
    const r = await ok(site.opl('node', 'evacuate', source, '-I', 'hail'));
    expect(r.stdout).toMatch(/Job\s+Instance\s+Status/);
    const after = await site.json<{ name: string; primaryNode: string }[]>('instance', 'list');
    for (const i of onSource) expect(after.find((a) => a.name === i.name)!.primaryNode).not.toBe(source);
    const empty = await ok(site.opl('node', 'evacuate', source, '-I', 'hail'));
    expect(empty.stdout).toBe(`node ${source} has no primary instances; nothing to do\n`);
    expect((await site.opl('node', 'migrate', source, '-I', 'hail', '-n', 'a1')).stderr).toMatch(/give -I ALLOCATOR or -n TARGET, not both/);
  });

  it('places and moves with the built-in allocator when neither node nor allocator is given, recording it like any other', async () => {
    expect((await site.json<{ defaultIallocator: string }>('cluster', 'info')).defaultIallocator).toBe('opl-ialloc');
    await ok(site.opl('instance', 'add', 'auto', '-t', 'ext:nas', '--memory', '512M', '--vcpus', '1', '--disk', '0:size=4M'));
    const placed = (await site.json<Instance>('instance', 'info', 'auto')).primaryNode;
    expect(['a1', 'a2', 'a3']).toContain(placed);
    await ok(site.opl('instance', 'migrate', 'auto'));
    const moved = (await site.json<Instance>('instance', 'info', 'auto')).primaryNode;
    expect(['a1', 'a2', 'a3'].filter((n) => n !== placed)).toContain(moved);
    const consulted = (await site.json<Logged[]>('audit', 'log', '--instance', 'auto')).filter((e) => e.type === 'IallocatorConsulted');
    expect(consulted.map((e) => e.data)).toEqual([
      expect.objectContaining({ allocator: 'opl-ialloc', program: 'builtin:opl-ialloc', exitCode: 0, chosen: [placed] }),
      expect.objectContaining({ allocator: 'opl-ialloc', program: 'builtin:opl-ialloc', exitCode: 0, chosen: [moved] }),
    ]);
    const jobs = await site.json<{ id: number; opcodes: { type: string }[] }[]>('job', 'list');
    const migration = jobs.filter((j) => j.opcodes[0]!.type === 'OP_INSTANCE_MIGRATE').at(-1)!;
    expect((await site.json<{ same: boolean }[]>('iallocator', 'replay', String(migration.id)))[0]!.same).toBe(true);
    // A diskless instance has no pool: the default allocator may place it in any group.
    await ok(site.opl('instance', 'add', 'plain-auto', '-t', 'diskless', '--memory', '256M', '--vcpus', '1'));
    const unknown = await site.opl('cluster', 'modify', '--default-iallocator', 'no-such-allocator');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/iallocator 'no-such-allocator' was not found \(looked for it as a path, and on .*\/usr\/lib\/ganeti\/iallocators\)/);
    expect((await site.json<{ defaultIallocator: string }>('cluster', 'info')).defaultIallocator).toBe('opl-ialloc');
    await ok(site.opl('cluster', 'modify', '--default-iallocator', 'hail'));
    await ok(site.opl('instance', 'migrate', 'auto'));
    const byHail = (await site.json<Logged[]>('audit', 'log', '--instance', 'auto')).filter((e) => e.type === 'IallocatorConsulted').at(-1)!;
    expect(byHail.data).toMatchObject({ allocator: 'hail', program: '/usr/lib/ganeti/iallocators/hail' });
    await ok(site.opl('cluster', 'modify', '--default-iallocator', 'opl-ialloc'));
  });

  it('prints allocate, node-evacuate and change-group requests that allocators answer', async () => {
    const answer = (request: unknown) => {
      const run = spawnSync(process.execPath, [OPL_IALLOC], { input: JSON.stringify(request), encoding: 'utf8' });
      return JSON.parse(run.stdout) as { success: boolean; result: unknown };
    };
    const allocate = await site.json<{ request: { type: string; mobility_domain: string[] } }>('iallocator', 'request', 'allocate', 'newcomer', '-t', 'ext:nas', '--memory', '1G', '--vcpus', '1', '--disk', '0:size=4M');
    expect(allocate.request).toMatchObject({ type: 'allocate', mobility_domain: ['a1', 'a2', 'a3'] });
    const placed = answer(allocate);
    expect(placed.success).toBe(true);
    expect(['a1', 'a2', 'a3']).toContain((placed.result as string[])[0]);
    const file = join(mkdtempSync(join(tmpdir(), 'opl-req-')), 'allocate.json');
    writeFileSync(file, JSON.stringify(allocate));
    const hail = JSON.parse(spawnSync('/usr/lib/ganeti/iallocators/hail', [file], { encoding: 'utf8' }).stdout) as { success: boolean };
    expect(hail.success).toBe(true);

    const home = (await site.json<Instance>('instance', 'info', 'web')).primaryNode;
    const evacuate = await site.json<{ request: { type: string; instances: string[] } }>('iallocator', 'request', 'node-evacuate', home);
    expect(evacuate.request.type).toBe('node-evacuate');
    expect(evacuate.request.instances).toContain('web');
    const [moved, failed] = answer(evacuate).result as [[string, string, string[]][], unknown[]];
    expect(failed).toEqual([]);
    expect(moved.every(([, , [node]]) => node !== home)).toBe(true);

    const change = await site.json<{ request: { type: string; target_groups: string[] } }>('iallocator', 'request', 'change-group', 'plain-auto', 'gb');
    expect(change.request).toMatchObject({ type: 'change-group', target_groups: [expect.any(String)] });
    const [changed] = answer(change).result as [[string, string, string[]][]];
    expect(changed).toEqual([['plain-auto', 'gb', ['b1']]]);
    expect((await site.opl('iallocator', 'request', 'teleport', 'web')).stderr).toMatch(/mode 'teleport': expected one of relocate, node-evacuate, change-group, allocate/);
    for (const [args, message] of [
      [['node-evacuate', 'nowhere'], "opl: iallocator request: node 'nowhere' does not exist\n"],
      [['relocate', 'ghost'], "opl: iallocator request: instance 'ghost' does not exist\n"],
      [['change-group', 'web', 'nogroup'], "opl: iallocator request: group 'nogroup' does not exist\n"],
    ] as const) {
      const r = await site.opl('iallocator', 'request', ...args);
      expect([r.code, r.stdout, r.stderr]).toEqual([1, '', message]);
    }
    expect((await site.opl('iallocator', 'request', 'relocate', 'web', 'extra')).stderr).toMatch(/iallocator request relocate: unexpected 'extra'/);
  });

  it('refuses -n and -I together, and an allocator that is not there', async () => {
    expect((await site.opl('instance', 'migrate', 'web', '-n', 'a2', '-I', 'hail')).stderr).toMatch(/give either -n NODE or -I ALLOCATOR, not both/);
    expect((await site.opl('instance', 'migrate', 'web', '-I', 'no-such-allocator')).stderr).toMatch(/iallocator 'no-such-allocator': not found/);
  });
});
