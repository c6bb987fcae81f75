import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { remoteNode, type RemoteNode } from '../../../src/adapters/nodes/remote-client.js';
import { checkNodeStorage } from '../../../src/adapters/nodes/storage-checks.js';
import { localStorageCheck, nodeRoutedStorageCheck } from '../../../src/adapters/storage/storage-check.js';
import { makeNodeDir, makeTestCa, startNoded, tempRoot, type RunningNoded } from '../../noded/cluster-pki.js';
import { stateAfter } from '../../domain/fixtures.js';
import { storageCheckContract } from './storage-check-contract.js';

/**
 * Cluster verify's file-storage questions through the real `opl-noded`: n1 and n2 share
 * a directory; n3 has the same path in its own mount namespace with another file system
 * bound over it (as a host whose NFS mount failed would have a local directory there);
 * n4 was not given the directory at all.
 */
let root: string;
let shared: string;
/** The contract's own directory: it removes it once, which would also undo n3's mount over `shared`. */
let contractShared: string;
const daemons: RunningNoded[] = [];
const clients = new Map<string, RemoteNode>();
const dirs = new Map<string, string>();
const unused = localStorageCheck('/nonexistent/opl-must-not-be-used');
const routed = () => nodeRoutedStorageCheck(unused, (name) => clients.get(name));

beforeAll(async () => {
  root = tempRoot();
  shared = join(root, 'shared');
  contractShared = join(root, 'contract-shared');
  for (const dir of [shared, contractShared, join(root, 'elsewhere')]) mkdirSync(dir);
  const ca = await makeTestCa(root, 'c1');
  const engine = await ca.certify('opl-engine', 'client');
  const ownMounts = ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', 'mount --bind "$1" "$2" && shift 2 && exec "$@"', 'sh', join(root, 'elsewhere'), shared];
  for (const [name, storageDirs, wrap] of [['n1', [shared, contractShared]], ['n2', [shared, contractShared]], ['n3', [shared], ownMounts], ['n4', []]] as const) {
    const dir = await makeNodeDir(root, ca, name, await ca.certify(name, 'node', { names: [name, '127.0.0.1'] }), [...storageDirs]);
    dirs.set(name, dir);
    const daemon = await startNoded(dir, undefined, wrap ? { wrap: [...wrap] } : {});
    daemons.push(daemon);
    clients.set(name, remoteNode({ name, host: '127.0.0.1', port: daemon.port, caPem: ca.caPem(), ...engine, timeoutMs: 5_000, retries: 0 }));
  }
}, 60_000);

afterAll(async () => {
  for (const client of clients.values()) client.close();
  await Promise.all(daemons.map((d) => d.stop()));
  rmSync(root, { recursive: true, force: true });
});

storageCheckContract('through opl-noded', () => ({ check: routed(), shared: contractShared, fileDirOf: (node) => join(dirs.get(node)!, 'file-storage'), nodes: ['n1', 'n2'] }));

describe("cluster verify's file-storage questions on hosts that do not share the directory", () => {
  const cluster = () =>
    stateAfter([
      { type: 'OP_CLUSTER_INIT', clusterName: 'c1', sharedFileStorageDir: shared },
      { type: 'OP_GROUP_ADD', groupName: 'g1' },
      ...['n1', 'n2', 'n3', 'n4'].map((nodeName) => ({ type: 'OP_NODE_ADD', nodeName, groupName: 'g1', memoryMib: 4096, cpus: 2 })),
    ]);

  it('finds the node on another file system at the same path, and the node not given the directory, and leaves no probe behind', async () => {
    const findings = await checkNodeStorage(cluster(), routed(), new Set(['n1', 'n2', 'n3', 'n4']));
    expect(findings).toEqual([
      { node: 'n1', problem: `does not see the file node n3 wrote in the shared file storage directory ${shared}: it is not one file system with it` },
      { node: 'n2', problem: `does not see the file node n3 wrote in the shared file storage directory ${shared}: it is not one file system with it` },
      { node: 'n3', problem: `does not see the files nodes n1, n2 wrote in the shared file storage directory ${shared}: it is not one file system with them` },
      { node: 'n4', problem: `shared file storage directory ${shared} is not one of its storage directories (its node.json storageDirs: none)` },
    ]);
    expect(readdirSync(shared)).toEqual([]);
    expect(readdirSync(join(root, 'elsewhere'))).toEqual([]);
  });

  it("refuses to read or remove probes in a directory the node was not given", async () => {
    await expect(clients.get('n4')!.call('verify-probes', { node: 'n4', sharedDir: shared, probes: [] })).rejects.toThrow(/is not one of this node's storage directories/);
    await expect(clients.get('n4')!.call('verify-probe-remove', { node: 'n4', sharedDir: '/etc', name: '.opl-verify-x' })).rejects.toThrow(/\/etc is not one of this node's storage directories/);
  });

  it("believes a survey only in the promised shape", async () => {
    const liar = nodeRoutedStorageCheck(unused, () => ({ call: async () => ({ fileDisks: ['../../etc/passwd'] }) }));
    await expect(liar.survey('n1', shared)).rejects.toMatchObject({ kind: 'bad-answer', message: expect.stringMatching(/node n1 answered verify-survey with something that is not what the call promises/) });
  });
});
