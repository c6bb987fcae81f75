import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { remoteNode, type RemoteNode } from '../../../src/adapters/nodes/remote-client.js';
import { createFileDiskStorage } from '../../../src/adapters/storage/file-disks.js';
import { nodeRoutedFileStorage } from '../../../src/adapters/storage/node-routed-files.js';
import { makeNodeDir, makeTestCa, startNoded, tempRoot, type RunningNoded } from '../../noded/cluster-pki.js';
import { fileStorageContract, fileTarget } from './file-contract.js';

/**
 * `file` and `sharedfile` disks of nodes with a daemon: the real `opl-noded` on loopback,
 * two of them, one given the shared directory in its node.json and one not. The same
 * contract as the local adapter's, and what only a remote one can get wrong.
 */
let root: string;
let shared: string;
const daemons: RunningNoded[] = [];
const clients = new Map<string, RemoteNode>();
const dirs = new Map<string, string>();
const ctx = { recordCall: async () => undefined, log: async () => undefined };
const unused = createFileDiskStorage('/nonexistent/opl-must-not-be-used');

beforeAll(async () => {
  root = tempRoot();
  shared = join(root, 'shared');
  mkdirSync(shared);
  const ca = await makeTestCa(root, 'c1');
  const engine = await ca.certify('opl-engine', 'client');
  for (const [name, storageDirs] of [['n1', [shared]], ['n2', []]] as const) {
    const dir = await makeNodeDir(root, ca, name, await ca.certify(name, 'node', { names: [name, '127.0.0.1'] }), [...storageDirs]);
    dirs.set(name, dir);
    const daemon = await startNoded(dir);
    daemons.push(daemon);
    clients.set(name, remoteNode({ name, host: '127.0.0.1', port: daemon.port, caPem: ca.caPem(), ...engine, timeoutMs: 5_000, retries: 0 }));
  }
}, 60_000);

afterAll(async () => {
  for (const client of clients.values()) client.close();
  await Promise.all(daemons.map((d) => d.stop()));
  rmSync(root, { recursive: true, force: true });
});

const routed = () => nodeRoutedFileStorage(unused, (name) => clients.get(name));
fileStorageContract('through opl-noded', () => ({ storage: routed(), shared, fileDirOf: (node) => join(dirs.get(node)!, 'file-storage') }));

describe('file disks reached through opl-noded', () => {
  it("keeps sharedfile disks only in the node's own storage directories, and says which it has", async () => {
    await expect(routed().create(fileTarget('sharedfile', join(shared, 'web', 'disk0'), 1, 'n2'), ctx)).rejects.toThrow(
      new RegExp(`node n2 at 127\\.0\\.0\\.1:\\d+: disk-create: sharedfile disk ${shared}/web/disk0: ${shared} is not a storage directory of node n2 \\(its node\\.json storageDirs: none\\)`),
    );
    await expect(routed().create(fileTarget('sharedfile', '/etc/cron.d/disk0', 1), ctx)).rejects.toThrow(/\/etc is not a storage directory of node n1 \(its node\.json storageDirs: /);
    expect(existsSync(join(shared, 'web'))).toBe(false);
    expect(existsSync('/etc/cron.d/disk0')).toBe(false);
  });

  it('refuses a disk of another node, and a body that is not a disk, naming the field', async () => {
    const misrouted = nodeRoutedFileStorage(unused, () => clients.get('n1'));
    await expect(misrouted.create(fileTarget('file', 'web/disk0', 1, 'n2'), ctx)).rejects.toThrow(/a disk call for node 'n2' reached node 'n1'/);
    expect(existsSync(join(dirs.get('n1')!, 'file-storage', 'web'))).toBe(false);
    await expect(clients.get('n1')!.call('disk-create', { node: 'n1', target: { ...fileTarget('file', 'web/disk0', 1), template: 'blockdev' } })).rejects.toThrow(/a disk call whose 'target\.template' is not valid \(expected 'file' or 'sharedfile'\)/);
    await expect(clients.get('n1')!.call('disk-grow', { node: 'n1', target: fileTarget('file', 'web/disk0', 1) })).rejects.toThrow(/a disk call without 'sizeMib'/);
  });

  it("believes a daemon's answer only in the shape the port promises", async () => {
    const liar = nodeRoutedFileStorage(unused, () => ({ call: async () => ({ device: 'relative/path' }) }));
    await expect(liar.attach(fileTarget('file', 'web/disk0', 1), ctx)).rejects.toMatchObject({ kind: 'bad-answer', message: expect.stringMatching(/node n1 answered disk-attach for file disk web\/disk0 with something that is not what the call promises/) });
    await expect(liar.grow(fileTarget('file', 'web/disk0', 1), 2, ctx)).rejects.toMatchObject({ kind: 'bad-answer' });
  });
});
