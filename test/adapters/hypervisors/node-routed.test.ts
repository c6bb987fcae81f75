import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeHypervisor } from '../../../src/adapters/hypervisors/fake.js';
import { nodeRoutedHypervisor } from '../../../src/adapters/hypervisors/node-routed.js';
import { remoteNode, type RemoteNode } from '../../../src/adapters/nodes/remote-client.js';
import { makeNodeDir, makeTestCa, startNoded, tempRoot, type RunningNoded } from '../../noded/cluster-pki.js';
import { hypervisorContract } from './contract.js';

/**
 * The hypervisor of nodes with a daemon: the real `opl-noded` on loopback, two of them,
 * called over mutual TLS as the engine calls them. The same contract as the local
 * adapter's, and what only a remote one can get wrong.
 */
let root: string;
const daemons: RunningNoded[] = [];
const clients = new Map<string, RemoteNode>();

beforeAll(async () => {
  root = tempRoot();
  const ca = await makeTestCa(root, 'c1');
  const engine = await ca.certify('opl-engine', 'client');
  for (const name of ['n1', 'n2']) {
    const daemon = await startNoded(await makeNodeDir(root, ca, name, await ca.certify(name, 'node', { names: [name, '127.0.0.1'] })));
    daemons.push(daemon);
    clients.set(name, remoteNode({ name, host: '127.0.0.1', port: daemon.port, caPem: ca.caPem(), ...engine, timeoutMs: 5_000, retries: 0 }));
  }
}, 60_000);

afterAll(async () => {
  for (const client of clients.values()) client.close();
  await Promise.all(daemons.map((d) => d.stop()));
  rmSync(root, { recursive: true, force: true });
});

const unused = createFakeHypervisor('/nonexistent/opl-must-not-be-used');
hypervisorContract('through opl-noded', () => ({ hypervisor: nodeRoutedHypervisor(unused, (name) => clients.get(name)), node: 'n1', otherNode: 'n2' }));

describe('a hypervisor reached through opl-noded', () => {
  const web = { name: 'web', uuid: 'u-web', memoryMib: 256, vcpus: 1 };

  it("refuses a call meant for another node, and the guest is not started on the host that got it", async () => {
    const misrouted = nodeRoutedHypervisor(unused, () => clients.get('n1'));
    await expect(misrouted.start('n2', web)).rejects.toMatchObject({ kind: 'node-error', message: expect.stringContaining("a hypervisor call for node 'n2' reached node 'n1'") });
    expect(await clients.get('n1')!.call('hv-running', {})).toEqual({ instances: [] });
  });

  it('refuses an instance that is not one, in one line that names the field', async () => {
    await expect(clients.get('n1')!.call('hv-start', { node: 'n1', instance: { name: '../etc', uuid: 'u', memoryMib: 1, vcpus: 1 } })).rejects.toThrow(/node n1 at 127\.0\.0\.1:\d+: hv-start: a hypervisor call whose 'instance\.name' is not valid \(expected an instance name\)/);
    await expect(clients.get('n1')!.call('hv-stop', { node: 'n1' })).rejects.toThrow(/'instance' is not valid/);
    // A field this daemon does not take is refused, not dropped (a newer engine's parameter, ignored, would do the wrong thing).
    await expect(clients.get('n1')!.call('hv-stop', { node: 'n1', instance: { name: 'i1', uuid: 'u', memoryMib: 1, vcpus: 1 }, graceful: true })).rejects.toThrow(
      /hv-stop: a hypervisor call carries 'graceful', which this opl-noded does not take: it is older than the engine that called it, or the caller is not ours; upgrade it/,
    );
    await expect(clients.get('n1')!.call('hv-start', { node: 'n1', instance: { name: 'i1', uuid: 'u', memoryMib: 1, vcpus: 1, cpuMask: '0-3' } })).rejects.toThrow(/carries 'instance\.cpuMask', which this opl-noded does not take/);
  });

  it('reports what it runs in its facts, as the daemon sees it', async () => {
    const hypervisor = nodeRoutedHypervisor(unused, (name) => clients.get(name));
    await hypervisor.start('n2', web);
    expect((await clients.get('n2')!.facts()).instances).toEqual(['web']);
    await hypervisor.cleanup('n2', web);
    expect((await clients.get('n2')!.facts()).instances).toEqual([]);
  });

  it('believes a list of instance names only', async () => {
    const liar = nodeRoutedHypervisor(unused, () => ({ call: async () => ({ instances: ['ok', '../../x'] }) }));
    await expect(liar.running('n1')).rejects.toMatchObject({ kind: 'bad-answer' });
    const silent = nodeRoutedHypervisor(unused, () => ({ call: async () => ({}) }));
    await expect(silent.running('n1')).rejects.toThrow('node n1 answered what its hypervisor runs with something that is not a list of instance names');
  });
});
