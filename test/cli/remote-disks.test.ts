import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempRoot, type RunningNoded } from '../noded/cluster-pki.js';
import { newSite, ok, type Site } from './opl.js';
import { joinNode } from './joined-node.js';

/**
 * Disks kept as files on nodes with a daemon: each real `opl-noded` (joined with a token,
 * given the shared directory with --storage-dir, or not) makes, grows, renames and
 * removes them on its own host; the engine's machine holds none of them.
 */
interface InstanceRow { name: string; primaryNode: string; status: string }

let site: Site;
let root: string;
let shared: string;
const daemons = new Map<string, { daemon: RunningNoded; dir: string }>();

const join_ = async (name: string, storageDirs: string[]) => {
  daemons.set(name, await joinNode(site, root, name, { args: ['--name', name, ...storageDirs.flatMap((d) => ['--storage-dir', d])] }));
};
const localFiles = () => (existsSync(join(site.dataDir, 'nodes')) ? readdirSync(join(site.dataDir, 'nodes'), { recursive: true }) : []);

beforeAll(async () => {
  site = newSite();
  root = tempRoot();
  shared = join(root, 'shared');
  mkdirSync(shared);
  await ok(site.opl('cluster', 'init', 'c1', '--shared-file-storage-dir', shared));
  await ok(site.opl('group', 'add', 'g1'));
  await join_('n1', [shared]);
  await join_('n2', [shared]);
  await join_('n3', []);
}, 120_000);

afterAll(async () => {
  await Promise.all([...daemons.values()].map((d) => d.daemon.stop()));
  rmSync(root, { recursive: true, force: true });
  rmSync(site.dataDir, { recursive: true, force: true });
});

describe('file disks on nodes with a daemon', () => {
  it('node info shows what the daemon says now: its memory and the free space of each storage directory it was given', async () => {
    const n1 = (await ok(site.opl('node', 'info', 'n1'))).stdout;
    expect(n1).toMatch(/^Memory now \(MiB\): +\d+ total, \d+ available$/m);
    expect(n1).toMatch(new RegExp(`^Storage ${shared}: +\\d+ MiB free of \\d+$`, 'm'));
    expect((await ok(site.opl('node', 'info', 'n3'))).stdout).toMatch(/^Storage directories: +none given to its daemon$/m);
    const listed = await site.json<Record<string, unknown>[]>('node', 'list');
    expect(listed.every((n) => !('now' in n))).toBe(true);
  });

  it("makes a file disk in the node's own directory, on its host, and removes it there", async () => {
    await ok(site.opl('instance', 'add', 'f1', '-t', 'file', '--disk', '0:size=8M', '--memory', '128M', '--vcpus', '1', '-n', 'n1'));
    const disk = join(daemons.get('n1')!.dir, 'file-storage', 'f1', 'disk0');
    expect(statSync(disk).size).toBe(8 * 1024 * 1024);
    await ok(site.opl('instance', 'grow-disk', 'f1', '0', '8M'));
    expect(statSync(disk).size).toBe(16 * 1024 * 1024);
    expect(localFiles().filter((f) => String(f).includes('file-storage'))).toEqual([]);
    await ok(site.opl('instance', 'remove', '-f', 'f1'));
    expect(existsSync(join(daemons.get('n1')!.dir, 'file-storage', 'f1'))).toBe(false);
  });

  it('makes a sharedfile disk through its primary, migrates it to a node that sees the same directory, renames and removes it', async () => {
    await ok(site.opl('instance', 'add', 's1', '-t', 'sharedfile', '--disk', '0:size=4M', '--memory', '128M', '--vcpus', '1', '-n', 'n1'));
    expect(statSync(join(shared, 's1', 'disk0')).size).toBe(4 * 1024 * 1024);
    await ok(site.opl('instance', 'migrate', 's1', '-n', 'n2'));
    const listed = (await site.json<InstanceRow[]>('instance', 'list')).find((i) => i.name === 's1')!;
    expect(listed).toMatchObject({ primaryNode: 'n2', status: 'running' });
    expect(readdirSync(join(daemons.get('n2')!.dir, 'hypervisor', 'n2', 'fake-hv'))).toEqual(['s1.json']);
    await ok(site.opl('instance', 'shutdown', 's1'));
    await ok(site.opl('instance', 'rename', 's1', 's2'));
    expect(existsSync(join(shared, 's2', 'disk0'))).toBe(true);
    expect(existsSync(join(shared, 's1'))).toBe(false);
    await ok(site.opl('instance', 'remove', '-f', 's2'));
    expect(readdirSync(shared)).toEqual([]);
  });

  it("refuses a sharedfile disk on a node not given the shared directory, in one line, leaving nothing behind", async () => {
    const before = (await ok(site.opl('instance', 'list', '--output', 'json'))).stdout;
    const add = await site.opl('instance', 'add', 's3', '-t', 'sharedfile', '--disk', '0:size=4M', '--memory', '128M', '--vcpus', '1', '-n', 'n3');
    expect(add.code).not.toBe(0);
    expect(add.stderr).toMatch(new RegExp(`${shared} is not a storage directory of node n3 \\(its node\\.json storageDirs: none\\)`));
    expect((await ok(site.opl('instance', 'list', '--output', 'json'))).stdout).toBe(before);
    expect(readdirSync(shared)).toEqual([]);
  });

  it('cluster verify asks each host about its disks: a file disk removed behind its back, a stray in the shared directory, a node not given it', async () => {
    await ok(site.opl('instance', 'add', 'f2', '-t', 'file', '--disk', '0:size=1M', '--memory', '128M', '--vcpus', '1', '-n', 'n2'));
    await ok(site.opl('instance', 'add', 's5', '-t', 'sharedfile', '--disk', '0:size=1M', '--memory', '128M', '--vcpus', '1', '-n', 'n1'));
    const notGiven = `ERROR: node n3: shared file storage directory ${shared} is not one of its storage directories (its node.json storageDirs: none)`;
    // A file disk cannot move: the group is no longer N+1 redundant, which is not what this is about.
    const nodeLines = (out: string) => out.split('\n').filter((line) => line.startsWith('ERROR: node'));
    expect(nodeLines((await site.opl('cluster', 'verify')).stdout)).toEqual([notGiven]);
    rmSync(join(daemons.get('n2')!.dir, 'file-storage', 'f2', 'disk0'));
    mkdirSync(join(shared, 'left-over'));
    writeFileSync(join(shared, 'left-over', 'disk0'), '');
    const after = await site.opl('cluster', 'verify');
    expect(after.code).toBe(1);
    expect(nodeLines(after.stdout)).toEqual([
      `ERROR: node n1: sees sharedfile disk ${shared}/left-over/disk0 in the shared directory, which no instance has`,
      'ERROR: node n2: disk 0 of instance f2 (file f2/disk0) is missing',
      notGiven,
    ]);
    expect(readdirSync(shared).sort()).toEqual(['left-over', 's5']);
  });
});
