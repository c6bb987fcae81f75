import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { newSite, ok, type Site } from './opl.js';

interface LoggedEvent { stream: string; type: string }

/** The cluster's views and its domain events (everything but job bookkeeping). */
const snapshot = async (site: Site) => {
  const replay = await site.json<{ cluster: unknown; groups: unknown; nodes: unknown; instances: unknown }>('audit', 'replay');
  const events = await site.json<LoggedEvent[]>('audit', 'log');
  return {
    views: { cluster: replay.cluster, groups: replay.groups, nodes: replay.nodes, instances: replay.instances },
    domainEvents: events.filter((e) => e.stream === 'cluster'),
    jobEvents: events.filter((e) => e.stream !== 'cluster').length,
  };
};

describe('opl: bad input gets one clear line, a non-zero exit, and changes nothing', () => {
  let site: Site;
  beforeAll(async () => {
    site = newSite();
    await ok(site.opl('cluster', 'init', 'bad'));
    await ok(site.opl('group', 'add', 'g1'));
    await ok(site.opl('node', 'add', 'n1', '--group', 'g1', '--memory', '2G', '--cpus', '2'));
    await ok(site.opl('instance', 'add', 'i1', '-t', 'diskless', '--memory', '512', '--vcpus', '1', '-n', 'n1'));
  });

  // Refused before a job exists: nothing at all is written.
  it.each([
    ['negative memory', ['instance', 'add', 'x', '-t', 'diskless', '--memory=-5', '--vcpus', '1', '-n', 'n1'], /instance add: --memory '-5': memory must be positive/],
    ['zero vcpus', ['instance', 'add', 'x', '-t', 'diskless', '--memory', '1', '--vcpus', '0', '-n', 'n1'], /instance add: --vcpus '0': vcpus must be positive/],
    ['a size that is not a size', ['node', 'add', 'n9', '--group', 'g1', '--memory', 'lots', '--cpus', '1'], /node add: --memory 'lots': expected a size such as 512, 512M, 4G or 1T/],
    ['an unknown template', ['instance', 'add', 'x', '-t', 'floppy', '--memory', '1', '--vcpus', '1', '-n', 'n1'], /instance add: -t 'floppy': unknown disk template/],
    ['a missing template', ['instance', 'add', 'x', '--memory', '1', '--vcpus', '1', '-n', 'n1'], /instance add: -t TEMPLATE is required/],
    ['both a node and an allocator', ['instance', 'add', 'x', '-t', 'diskless', '--memory', '1', '--vcpus', '1', '-n', 'n1', '-I', 'hail'], /instance add: give the node with -n NODE or an allocator with -I ALLOCATOR, not both/],
    ['a name with a slash', ['group', 'add', 'a/b'], /group add: NAME 'a\/b': must start with a letter or digit/],
    ['an unknown option', ['node', 'list', '--colour'], /node list: unknown option '--colour'/],
    ['a missing argument', ['node', 'info'], /node info: expected NAME, got none/],
    ['an unknown verb', ['instance', 'explode', 'i1'], /instance: unknown verb 'explode'; expected one of add, remove/],
    ['an unknown command', ['frobnicate'], /unknown command 'frobnicate'/],
    ['a bad --output', ['node', 'list', '--output', 'yaml'], /--output 'yaml': expected table or json/],
    ['a bad yes/no', ['node', 'modify', 'n1', '--offline', 'maybe'], /--offline 'maybe': expected yes or no/],
    ['a malformed --store', ['node', 'list', '--store', 'mysql://x'], /--store 'mysql:\/\/x': expected sqlite:PATH, postgres:\/\/USER@HOST:PORT\/DB or memory:/],
    ['a bad priority', ['group', 'add', 'gx', '--priority', '99'], /--priority '99': expected a whole number from -20 to 19/],
    ['a bad job id', ['job', 'info', 'seven'], /job info: 'seven' is not a job id/],
    ['a bad replay time', ['audit', 'replay', '--until-time', 'yesterday'], /--until-time 'yesterday': expected an ISO 8601 time/],
  ])('refuses %s before submitting anything', async (_name, args, message) => {
    const before = await snapshot(site);
    const r = await site.opl(...args);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(await snapshot(site)).toEqual(before);
  });

  // Refused by the decider: the job is recorded as refused, no domain event is written.
  it.each([
    ['an unknown node', ['instance', 'add', 'x', '-t', 'diskless', '--memory', '1', '--vcpus', '1', '-n', 'nowhere'], /node 'nowhere' does not exist \(not_found\)/],
    ['a duplicate name', ['instance', 'add', 'i1', '-t', 'diskless', '--memory', '1', '--vcpus', '1', '-n', 'n1'], /instance 'i1' already exists \(already_exists\)/],
    ['more memory than the node has free', ['instance', 'add', 'x', '-t', 'diskless', '--memory', '2G', '--vcpus', '1', '-n', 'n1'], /node 'n1' has 1536 MiB of memory free, 2048 MiB needed/],
    ['removing a node that hosts instances', ['node', 'remove', 'n1', '-f'], /node 'n1' still hosts instances: i1 \(in_use\)/],
    ['a template this engine does not provision', ['instance', 'add', 'x', '-t', 'drbd', '--memory', '1', '--vcpus', '1', '-n', 'n1'], /this engine does not provision 'drbd' disks \(it provisions diskless, file, sharedfile, blockdev, ext\)/],
  ])('records %s as a refused job and writes no domain event', async (_name, args, message) => {
    const before = await snapshot(site);
    const r = await site.opl(...args);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    const after = await snapshot(site);
    expect(after.views).toEqual(before.views);
    expect(after.domainEvents).toEqual(before.domainEvents);
    expect(after.jobEvents).toBeGreaterThan(before.jobEvents);
    const jobs = await site.json<{ status: string; opcodes: { status: string }[] }[]>('job', 'list');
    expect(jobs.at(-1)).toMatchObject({ status: 'error', opcodes: [{ status: 'error' }] });
  });

  it('refuses a corrupt store file with a clear error, not a stack trace', async () => {
    const path = join(site.dataDir, 'garbage.sqlite');
    writeFileSync(path, 'definitely not sqlite'.repeat(500));
    const r = await site.opl('node', 'list', '--store', `sqlite:${path}`);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`opl: cannot open SQLite store '${path}': the file is not an SQLite database\n`);
  });

  it('refuses a PostgreSQL server that is not there with one line', async () => {
    const r = await site.opl('node', 'list', '--store', 'postgres://postgres@127.0.0.1:1/test');
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^opl: cannot open PostgreSQL store: .*ECONNREFUSED/);
  });

  it('prints help for the whole tool and for one command', async () => {
    const all = await ok(site.opl('--help'));
    expect(all.stdout).toContain('opl instance add NAME -t TEMPLATE|ext:POOL --memory SIZE --vcpus N [-n NODE | -I ALLOCATOR]');
    const one = await ok(site.opl('node', 'add', '--help'));
    expect(one.stdout).toMatch(/^Usage: opl node add NAME --group GROUP \(--address HOST\[:PORT\] \| --memory SIZE --cpus N\)/);
  });
});
