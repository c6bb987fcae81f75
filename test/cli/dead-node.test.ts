import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempRoot, type RunningNoded } from '../noded/cluster-pki.js';
import { joinNode } from './joined-node.js';
import { newSite, ok, type Site } from './opl.js';

/**
 * A node that dies under its instances, with the real `opl-noded` (joined with a token)
 * frozen by SIGSTOP: the listings say so from what they observe, the operator marks it
 * offline while its instance still "runs" there, and failover --ignore-consistency brings
 * the instance up on another node without waiting on the dead one.
 */
interface NodeRow { name: string; status: string; unreachable?: string }
interface InstanceRow { name: string; primaryNode: string; status: string; adminState: string }

let site: Site;
let root: string;
let daemon: RunningNoded;
let n1Dir: string;

const nodes = async () => new Map((await site.json<NodeRow[]>('node', 'list')).map((n) => [n.name, n]));
const instance = async (name: string) => (await site.json<InstanceRow[]>('instance', 'list')).find((i) => i.name === name)!;

beforeAll(async () => {
  site = newSite();
  root = tempRoot();
  await ok(site.opl('cluster', 'init', 'c1'));
  await ok(site.opl('group', 'add', 'g1'));
  ({ daemon, dir: n1Dir } = await joinNode(site, root, 'n1'));
  await ok(site.opl('node', 'add', 'n2', '--group', 'g1', '--memory', '4G', '--cpus', '4'));
  await ok(site.opl('instance', 'add', 'i1', '-t', 'diskless', '--memory', '256M', '--vcpus', '1', '-n', 'n1'));
}, 120_000);

afterAll(async () => {
  daemon?.child.kill('SIGCONT');
  await daemon?.stop();
  rmSync(root, { recursive: true, force: true });
  rmSync(site.dataDir, { recursive: true, force: true });
});

describe('a node that stops answering, marked offline, and failover without it', () => {
  it('lists both nodes ok and the instance running while the daemon answers, and verify reports its clock', async () => {
    const report = JSON.parse((await site.opl('cluster', 'verify', '--output', 'json')).stdout) as { nodes: { node: string; status: string; clockSkewMs: number | null }[] };
    const n1 = report.nodes.find((n) => n.node === 'n1')!;
    expect(n1.status).toBe('ok');
    expect(Math.abs(n1.clockSkewMs!)).toBeLessThan(5_000);
    const listed = await nodes();
    expect(listed.get('n1')!.status).toBe('ok');
    expect(listed.get('n2')!.status).toBe('ok');
    expect((await instance('i1')).status).toBe('running');
    expect((await ok(site.opl('node', 'list'))).stdout).toMatch(/^n1\s.*\sok$/m);
  });

  it("runs the guest on the node's host, through its daemon, and sees it stop there behind the engine's back", async () => {
    const guests = join(n1Dir, 'hypervisor', 'n1', 'fake-hv');
    expect(readdirSync(guests)).toEqual(['i1.json']);
    expect(existsSync(join(site.dataDir, 'nodes', 'n1', 'fake-hv', 'i1.json'))).toBe(false);
    rmSync(join(guests, 'i1.json'));
    expect((await instance('i1')).status).toBe('ERROR_down');
    const verify = await site.opl('cluster', 'verify');
    expect(verify.code).toBe(1);
    expect(verify.stdout).toMatch(/^ERROR: node n1: does not run instance i1, which should be running \(ERROR_down\)$/m);
    await ok(site.opl('instance', 'startup', 'i1'));
    expect(readdirSync(guests)).toEqual(['i1.json']);
    expect((await instance('i1')).status).toBe('running');
  });

  it('shows a frozen node unreachable and its instance ERROR_nodedown, within the listing bound', async () => {
    daemon.child.kill('SIGSTOP');
    const listed = await nodes();
    expect(listed.get('n1')).toMatchObject({ status: 'unreachable', unreachable: expect.stringMatching(/node n1/) });
    expect(listed.get('n2')!.status).toBe('ok');
    expect(await instance('i1')).toMatchObject({ status: 'ERROR_nodedown', adminState: 'up', primaryNode: 'n1' });
    expect((await ok(site.opl('node', 'info', 'n1'))).stdout).toMatch(/Status: +unreachable: node n1/);
    const verify = await site.opl('cluster', 'verify');
    expect(verify.code).toBe(1);
    expect(verify.stdout).toMatch(/^cluster verify: 2 nodes checked \(1 of 2 asked answered\), 1 group\nERROR: node n1: does not answer: node n1/);
  });

  it('marks it offline with the instance still on it: ERROR_nodeoffline, and it is no longer asked', async () => {
    await ok(site.opl('node', 'modify', 'n1', '--offline', 'yes'));
    expect((await nodes()).get('n1')!.status).toBe('offline');
    expect((await instance('i1')).status).toBe('ERROR_nodeoffline');
    expect((await ok(site.opl('instance', 'list', '-o', 'name,status', '--no-headers'))).stdout).toMatch(/^i1\s+ERROR_nodeoffline$/m);
  });

  it('fails the instance over to n2 with --ignore-consistency, not waiting on the dead node', async () => {
    const moved = await ok(site.opl('instance', 'failover', 'i1', '-n', 'n2', '--ignore-consistency'));
    expect(moved.code).toBe(0);
    expect(await instance('i1')).toMatchObject({ primaryNode: 'n2', status: 'running', adminState: 'up' });
    expect((await nodes()).get('n2')!.status).toBe('ok');
  });
});
