import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { newSite, ok } from './opl.js';

const MIB = 1024 * 1024;
interface Instance { name: string; disks: { index: number; size: number; logicalId: string }[] }

describe('opl: file and sharedfile instances', () => {
  it('creates, grows, renames and removes disks with every file where it should be, and replays equal', async () => {
    const site = newSite();
    const shared = mkdtempSync(join(tmpdir(), 'opl-shared-'));
    await ok(site.opl('cluster', 'init', 'sf', '--shared-file-storage-dir', shared));
    await ok(site.opl('group', 'add', 'g'));
    await ok(site.opl('node', 'add', 'n1', '--group', 'g', '--memory', '8G', '--cpus', '4'));
    await ok(site.opl('node', 'add', 'n2', '--group', 'g', '--memory', '8G', '--cpus', '4'));
    await ok(site.opl('instance', 'add', 'web', '-t', 'sharedfile', '--memory', '1G', '--vcpus', '1', '-n', 'n1', '--disk', '0:size=1G', '--disk', '1:size=10M'));
    await ok(site.opl('instance', 'add', 'loc', '-t', 'file', '--memory', '1G', '--vcpus', '1', '-n', 'n2', '--disk', '0:size=64M'));
    expect(statSync(join(shared, 'web', 'disk0')).size).toBe(1024 * MIB);
    expect(statSync(join(site.dataDir, 'nodes', 'n2', 'file-storage', 'loc', 'disk0')).size).toBe(64 * MIB);

    await ok(site.opl('instance', 'grow-disk', 'web', '0', '512M'));
    await ok(site.opl('instance', 'grow-disk', 'web', '1', '20M', '--absolute'));
    expect(statSync(join(shared, 'web', 'disk0')).size).toBe(1536 * MIB);
    expect((await site.json<Instance>('instance', 'info', 'web')).disks.map((d) => d.size)).toEqual([1536, 20]);
    const shrink = await site.opl('instance', 'grow-disk', 'web', '0', '1G', '--absolute');
    expect(shrink.code).toBe(1);
    expect(shrink.stderr).toMatch(/disks only grow/);

    const running = await site.opl('instance', 'rename', 'web', 'www');
    expect(running.stderr).toMatch(/is running; stop it before renaming it/);
    await ok(site.opl('instance', 'stop', 'web'));
    await ok(site.opl('instance', 'rename', 'web', 'www'));
    expect(existsSync(join(shared, 'web'))).toBe(false);
    expect(statSync(join(shared, 'www', 'disk0')).size).toBe(1536 * MIB);
    expect((await site.json<Instance>('instance', 'info', 'www')).disks[0]!.logicalId).toBe(join(shared, 'www', 'disk0'));

    const replay = await site.json<{ instances: Instance[] }>('audit', 'replay');
    // The listing adds what the nodes report now (status); the rest is the recorded view.
    expect(replay.instances).toEqual((await site.json<{ status: string }[]>('instance', 'list')).map(({ status: _now, ...recorded }) => recorded));

    await ok(site.opl('instance', 'remove', 'www', '-f'));
    await ok(site.opl('instance', 'remove', 'loc', '-f'));
    expect(existsSync(join(shared, 'www'))).toBe(false);
    expect(existsSync(join(site.dataDir, 'nodes', 'n2', 'file-storage', 'loc'))).toBe(false);
    expect(await site.json('instance', 'list')).toEqual([]);
  });

  it('cluster verify reports nodes where the shared directory is missing', async () => {
    const site = newSite();
    const shared = mkdtempSync(join(tmpdir(), 'opl-shared-'));
    await ok(site.opl('cluster', 'init', 'v', '--shared-file-storage-dir', shared));
    await ok(site.opl('group', 'add', 'g'));
    await ok(site.opl('node', 'add', 'n1', '--group', 'g', '--memory', '1G', '--cpus', '1'));
    expect(await site.json('cluster', 'verify')).toMatchObject({ ok: true, problems: [], nodes: [{ node: 'n1', status: 'ok' }], groups: [{ group: 'g', redundant: true }] });
    expect((await ok(site.opl('cluster', 'verify'))).stdout).toBe('cluster verify: 1 node checked (1 of 1 asked answered), 1 group, no problems\n');
    rmSync(shared, { recursive: true });
    const r = await site.opl('cluster', 'verify');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(`cluster verify: 1 node checked (1 of 1 asked answered), 1 group\nERROR: node n1: shared file storage directory ${shared} is missing\n`);
  });

  it('refuses names and paths that could escape the storage directory', async () => {
    const site = newSite();
    const relative = await site.opl('cluster', 'init', 'x', '--shared-file-storage-dir', 'relative/dir');
    expect(relative.stderr).toMatch(/--shared-file-storage-dir 'relative\/dir': must be an absolute path/);
    const dotdot = await site.opl('cluster', 'init', 'x', '--shared-file-storage-dir', '/srv/../etc');
    expect(dotdot.stderr).toMatch(/must not contain \.\./);
    const slash = await site.opl('instance', 'add', '../x', '-t', 'sharedfile', '--memory', '1', '--vcpus', '1', '-n', 'n1', '--disk', '0:size=1M');
    expect(slash.code).toBe(2);
    expect(slash.stderr).toMatch(/NAME '\.\.\/x': must start with a letter or digit/);
    // Neither init made a store, and the refused add did not make one either.
    const list = await site.opl('job', 'list');
    expect(list.code).not.toBe(0);
    expect(list.stderr).toMatch(/no opledger store at .*: run 'opl cluster init NAME'/);
  });
});
