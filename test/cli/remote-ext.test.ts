import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempRoot, type RunningNoded } from '../noded/cluster-pki.js';
import { newSite, ok, type Site } from './opl.js';
import { joinNode } from './joined-node.js';

/**
 * `ext` disks on nodes with a daemon: the pool's driver runs on the disk's node, the
 * copy in that node's --driver-dir, never the engine host's. Every copy of the driver
 * says in the pool's call log where it ran; n3 was given a driver directory without it.
 */
let site: Site;
let root: string;
let pool: string;
const daemons: RunningNoded[] = [];

/** A driver named 'logged' whose every call appends "ACTION NODE_NAME WHERE" to $EXTP_DIR/calls. */
const loggedDriver = (parent: string, where: string) => {
  const dir = join(parent, 'logged');
  mkdirSync(dir, { recursive: true });
  const script = (action: string, out: string) => `#!/bin/sh\necho "${action} $NODE_NAME ${where}" >> "$EXTP_DIR/calls"\n${out}\n`;
  const scripts: Record<string, string> = {
    create: script('create', 'echo "$INSTANCE_NAME.$DISK_INDEX"'),
    attach: script('attach', 'echo "/dev/fake/$LOGICAL_ID"'),
    detach: script('detach', ':'),
    remove: script('remove', ':'),
  };
  for (const [name, text] of Object.entries(scripts)) {
    writeFileSync(join(dir, name), text);
    chmodSync(join(dir, name), 0o755);
  }
  return parent;
};

const join_ = async (name: string, driverDir: string) => {
  daemons.push((await joinNode(site, root, name, { args: ['--name', name, '--driver-dir', driverDir] })).daemon);
};
const calls = () => readFileSync(join(pool, 'calls'), 'utf8').trim().split('\n');

beforeAll(async () => {
  site = newSite();
  root = tempRoot();
  pool = join(root, 'pool');
  mkdirSync(pool);
  writeFileSync(join(pool, 'calls'), '');
  // The engine's host has the driver too (adding a pool checks it here): its calls would say so.
  site.env.OPL_STORAGE_DRIVER_PATH = loggedDriver(join(root, 'engine-drivers'), 'on-the-engine-host');
  await ok(site.opl('cluster', 'init', 'c1'));
  await ok(site.opl('group', 'add', 'g1'));
  await ok(site.opl('cluster', 'modify', '--add-pool', 'p', 'logged', '--pool-param', `dir=${pool}`));
  await ok(site.opl('group', 'modify', 'g1', '--connect-pool', 'p'));
  await join_('n1', loggedDriver(join(root, 'n1-drivers'), 'by-the-daemon-of-n1'));
  await join_('n2', loggedDriver(join(root, 'n2-drivers'), 'by-the-daemon-of-n2'));
  mkdirSync(join(root, 'n3-drivers'));
  await join_('n3', join(root, 'n3-drivers'));
}, 120_000);

afterAll(async () => {
  await Promise.all(daemons.map((d) => d.stop()));
  rmSync(root, { recursive: true, force: true });
  rmSync(site.dataDir, { recursive: true, force: true });
});

describe('ext disks on nodes with a daemon', () => {
  it("runs the pool's driver on the disk's node, from that node's driver directory", async () => {
    await ok(site.opl('instance', 'add', 'e1', '-t', 'ext:p', '--disk', '0:size=8M', '--memory', '128M', '--vcpus', '1', '-n', 'n1'));
    expect(calls()).toEqual(['create n1 by-the-daemon-of-n1', 'attach n1 by-the-daemon-of-n1', 'detach n1 by-the-daemon-of-n1']);
    await ok(site.opl('instance', 'migrate', 'e1', '-n', 'n2'));
    expect(calls().slice(3)).toContain('attach n2 by-the-daemon-of-n2');
    expect(calls().filter((c) => c.includes('engine'))).toEqual([]);
    await ok(site.opl('instance', 'remove', '-f', 'e1'));
    expect(calls().at(-1)).toMatch(/^remove n2 by-the-daemon-of-n2$/);
  });

  it('cluster verify asks each node for the drivers of its pools, and names the node that lacks one', async () => {
    const r = await site.opl('cluster', 'verify');
    expect(r.code).toBe(1);
    expect(r.stdout.trim().split('\n').slice(1)).toEqual([`ERROR: node n3: pool 'p': storage driver 'logged' is not here (looked in ${join(root, 'n3-drivers')}:/usr/share/ganeti/extstorage)`]);
  });

  it('says a node lacks the driver when a disk is made there, naming the node', async () => {
    const r = await site.opl('instance', 'add', 'e3', '-t', 'ext:p', '--disk', '0:size=8M', '--memory', '128M', '--vcpus', '1', '-n', 'n3');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/storage driver 'logged' is not on node n3 \(looked in .*n3-drivers/);
    expect(calls().filter((c) => c.includes('n3'))).toEqual([]);
  });
});
