import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeHypervisor } from '../../src/adapters/hypervisors/fake.js';
import { alive } from '../../src/adapters/hypervisors/kvm.js';
import { nodeRoutedHypervisor } from '../../src/adapters/hypervisors/node-routed.js';
import { remoteNode, type RemoteNode } from '../../src/adapters/nodes/remote-client.js';
import type { Hypervisor } from '../../src/domain/ports/hypervisor.js';
import { hypervisorContract } from '../adapters/hypervisors/contract.js';
import { killGuestsIn, processesWith } from '../adapters/hypervisors/qemu-leftovers.js';
import { makeNodeDir, makeTestCa, startNoded, tempRoot, type RunningNoded } from './cluster-pki.js';

/**
 * kvm guests served by the real `opl-noded`: n1 and n2 were given the test guest's kernel
 * in node.json (so they serve kvm, under the accelerator their start-up probe chose); n3
 * was not. QEMU runs on the daemon's host, its state in the daemon's directory.
 */
const GUEST = resolve(import.meta.dirname, '../../.cache/test-guest');
const root = tempRoot();
const daemons = new Map<string, { daemon: RunningNoded; dir: string }>();
const clients = new Map<string, RemoteNode>();
let ca: Awaited<ReturnType<typeof makeTestCa>>;
const routed = nodeRoutedHypervisor(createFakeHypervisor('/nonexistent/opl-must-not-be-used'), (name) => clients.get(name));
/** The routed hypervisor, every instance asked of kvm. */
const asKvm = (h: Hypervisor): Hypervisor => ({
  start: (node, i) => h.start(node, { ...i, hypervisor: 'kvm' }),
  stop: (node, i) => h.stop(node, { ...i, hypervisor: 'kvm' }),
  cleanup: (node, i) => h.cleanup(node, { ...i, hypervisor: 'kvm' }),
  running: (node) => h.running(node),
});

beforeAll(async () => {
  if (!existsSync(join(GUEST, 'vmlinuz'))) throw new Error(`no test guest in ${GUEST}: run scripts/build-test-guest.sh (npm test's setup does)`);
  ca = await makeTestCa(root, 'c1');
  const engine = await ca.certify('opl-engine', 'client');
  const dirs: [string, string][] = [];
  for (const name of ['n1', 'n2', 'n3']) {
    // One at a time: the test authority's serial file is not for concurrent signing.
    const dir = await makeNodeDir(root, ca, name, await ca.certify(name, 'node', { names: [name, '127.0.0.1'] }));
    const kvm = { kernel: join(GUEST, 'vmlinuz'), initrd: join(GUEST, 'initramfs.img'), shutdownTimeoutSeconds: 2 };
    if (name !== 'n3') writeFileSync(join(dir, 'node.json'), JSON.stringify({ name, kvm }));
    dirs.push([name, dir]);
  }
  // At once: each kvm daemon's start-up probe may take its whole bound.
  await Promise.all(
    dirs.map(async ([name, dir]) => {
      const daemon = await startNoded(dir);
      daemons.set(name, { daemon, dir });
      clients.set(name, remoteNode({ name, host: '127.0.0.1', port: daemon.port, caPem: ca.caPem(), ...engine, timeoutMs: 30_000, retries: 0 }));
    }),
  );
}, 90_000);

afterAll(async () => {
  for (const client of clients.values()) client.close();
  await Promise.all([...daemons.values()].map((d) => d.daemon.stop()));
  killGuestsIn([...daemons.values()].flatMap(({ dir }) => ['n1', 'n2'].map((node) => join(dir, 'hypervisor', node, 'kvm'))));
  rmSync(root, { recursive: true, force: true });
});

hypervisorContract('kvm through opl-noded', () => ({ hypervisor: asKvm(routed), node: 'n1', otherNode: 'n2' }));

describe('kvm guests on a node with a daemon', () => {
  it('says at start-up which accelerator its guests get, and why, and reports it with its facts', async () => {
    await daemons.get('n1')!.daemon.printed(/^kvm guests run under/m);
    const said = /^kvm guests run under (KVM|TCG) \((.+)\)$/m.exec(daemons.get('n1')!.daemon.stdout());
    expect(said).not.toBeNull();
    if (!existsSync('/dev/kvm')) expect(said![1]).toBe('TCG');
    const facts = (await clients.get('n1')!.call('facts', {})) as { kvm?: { accel: string; why: string } };
    expect(facts.kvm).toEqual({ accel: said![1]!.toLowerCase(), why: said![2] });
    expect(((await clients.get('n3')!.call('facts', {})) as { kvm?: unknown }).kvm).toBeUndefined();
  });

  it("runs the guest's QEMU on the daemon's host, its state in the daemon's directory", async () => {
    const vm = { name: 'g1', uuid: '1d7f0c2e-8a4b-4c1d-9e2f-3a4b5c6d7e8f', memoryMib: 128, vcpus: 1 };
    await asKvm(routed).start('n2', vm);
    const pidFile = join(daemons.get('n2')!.dir, 'hypervisor', 'n2', 'kvm', 'g1.pid');
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toEqual(expect.arrayContaining(['-uuid', vm.uuid, '-name', 'g1']));
    expect(await routed.running('n2')).toEqual(['g1']);
    expect(((await clients.get('n2')!.call('facts', {})) as { instances: string[] }).instances).toEqual(['g1']);
    // What QEMU says of it, through the daemon; its console, a piece at a time.
    expect(await routed.inspect('n2', { ...vm, hypervisor: 'kvm' })).toEqual({ status: 'running', pid, memoryMib: 128 });
    expect(await routed.inspect('n2', { ...vm, hypervisor: 'fake' })).toBeUndefined();
    const serial = join(daemons.get('n2')!.dir, 'hypervisor', 'n2', 'kvm', 'g1.serial');
    const end = await routed.console('n2', 'g1', 1_000_000_000); // past its end: read from its start
    expect(end.next).toBe(end.data.length);
    expect(end.data.equals(readFileSync(serial).subarray(0, end.data.length))).toBe(true);
    await asKvm(routed).stop('n2', vm);
    expect(alive(pid)).toBe(false);
    expect(await routed.inspect('n2', { ...vm, hypervisor: 'kvm' })).toBeUndefined();
    expect(await routed.running('n2')).toEqual([]);
  });

  it('leaves no probe QEMU behind when it is stopped in the middle of its KVM probe', async () => {
    // A kernel of its own, so that only this daemon's probe can carry its path.
    const kernel = join(root, 'probe-kernel');
    copyFileSync(join(GUEST, 'vmlinuz'), kernel);
    const dir = await makeNodeDir(root, ca, 'n4', await ca.certify('n4', 'node', { names: ['n4', '127.0.0.1'] }));
    writeFileSync(join(dir, 'node.json'), JSON.stringify({ name: 'n4', kvm: { kernel, initrd: join(GUEST, 'initramfs.img') } }));
    const daemon = await startNoded(dir);
    const probes = () => processesWith(kernel);
    const probing = probes().length; // 1 while it probes; 0 if this host's KVM answered already
    expect(await daemon.stop()).toBe(0);
    const end = Date.now() + 5_000;
    while (probes().length > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    expect({ probing: probing <= 1, left: probes() }).toEqual({ probing: true, left: [] });
  });

  it('refuses a kvm guest on a node that has no kvm kernel, in one line, and starts nothing', async () => {
    await expect(asKvm(routed).start('n3', { name: 'g3', uuid: 'u-g3', memoryMib: 128, vcpus: 1 })).rejects.toThrow(/node n3 has no kvm hypervisor \(its node\.json names no kvm kernel\)/);
    expect(await routed.running('n3')).toEqual([]);
  });

  it('checks kvm parameters again itself, believing no caller: a relative kernel, an unknown parameter, a kernel it does not have', async () => {
    const vm = { name: 'g5', uuid: 'u-g5', memoryMib: 128, vcpus: 1, hypervisor: 'kvm' as const };
    await expect(routed.start('n1', { ...vm, hvParams: { kernel_path: 'vmlinuz' } })).rejects.toThrow(/a hypervisor call whose 'instance\.hvParams' is not valid \(kernel_path "vmlinuz" is not an absolute path/);
    await expect(routed.start('n1', { ...vm, hvParams: { vnc: '1' } as never })).rejects.toThrow(/whose 'instance\.hvParams' is not valid \(kvm has no parameter 'vnc'/);
    await expect(routed.start('n1', { ...vm, hvParams: { kernel_path: '/nonexistent/k' } })).rejects.toThrow(/QEMU did not start g5 on node n1: its kernel_path \/nonexistent\/k is not a file there/);
    expect(await routed.running('n1')).not.toContain('g5');
  });

  it("refuses a migration call it cannot take, in one line, starting nothing: a node without kvm, a fake guest, a uri that is not tcp:HOST:PORT", async () => {
    const live = routed.live!;
    const vm = { name: 'g4', uuid: 'u-g4', memoryMib: 128, vcpus: 1, hypervisor: 'kvm' as const };
    await expect(live.accept('n3', vm, '127.0.0.1')).rejects.toThrow(/node n3 has no kvm hypervisor \(its node\.json names no kvm kernel\): it cannot take part in a live migration/);
    await expect(live.accept('n1', { ...vm, hypervisor: 'fake' }, '127.0.0.1')).rejects.toThrow(/only kvm guests migrate live; n1 was asked to for a fake guest/);
    await expect(live.send('n1', vm, 'exec:rm -rf /')).rejects.toThrow(/a migration send call whose 'uri' is not valid \(expected 'tcp:HOST:PORT'\)/);
    await expect(live.accept('n1', vm, 'a host; rm')).rejects.toThrow(/a migration accept call whose 'address' is not valid/);
    await expect(live.confirm('n1', vm)).rejects.toThrow(/no QEMU of g4 runs on node n1/);
    await expect(live.resume('n1', vm, { evenIfCompleted: true })).rejects.toThrow(/no QEMU of g4 runs on node n1/); // the call taken, the guest not there
    await expect(live.withdraw('n3', vm)).rejects.toThrow(/node n3 has no kvm hypervisor/);
    await live.withdraw('n1', vm); // nothing waits there: nothing to end
    expect(await routed.running('n1')).toEqual([]);
    expect(await routed.running('n3')).toEqual([]);
  });

  it('refuses a console it cannot show, in one line: a node without kvm, a bad name or offset, a console that is a link, a FIFO or a second name', async () => {
    await expect(routed.console('n3', 'g1', 0)).rejects.toThrow(/node n3 has no kvm hypervisor \(its node\.json names no kvm kernel\): no guest of it has a console/);
    await expect(routed.console('n1', '../../etc/passwd', 0)).rejects.toThrow(/a console call whose 'name' is not valid \(expected an instance name\)/);
    await expect(routed.console('n1', 'g1', -1)).rejects.toThrow(/a console call whose 'offset' is not valid/);
    expect(await routed.console('n1', 'never', 0)).toEqual({ data: Buffer.alloc(0), next: 0, size: 0 });
    const dir = join(daemons.get('n1')!.dir, 'hypervisor', 'n1', 'kvm');
    mkdirSync(dir, { recursive: true });
    symlinkSync('/etc/passwd', join(dir, 'linked.serial'));
    execFileSync('mkfifo', [join(dir, 'fifo.serial')]);
    writeFileSync(join(root, 'elsewhere'), 'not a console\n');
    linkSync(join(root, 'elsewhere'), join(dir, 'twice.serial'));
    try {
      await expect(routed.console('n1', 'linked', 0)).rejects.toThrow(/the console of linked on node n1: 'linked\.serial' is a symbolic link; consoles and the directories that hold them must be plain/);
      await expect(routed.console('n1', 'fifo', 0)).rejects.toThrow(/the console of fifo on node n1: 'fifo\.serial' is not a regular file/);
      await expect(routed.console('n1', 'twice', 0)).rejects.toThrow(/the console of twice on node n1: 'twice\.serial' has 2 hard links/);
    } finally {
      for (const f of ['linked', 'fifo', 'twice']) rmSync(join(dir, `${f}.serial`));
    }
  });
});
