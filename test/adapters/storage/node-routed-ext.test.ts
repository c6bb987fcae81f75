import { cpSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { remoteNode, type RemoteNode } from '../../../src/adapters/nodes/remote-client.js';
import { extDiskStorage } from '../../../src/adapters/storage/ext-disks.js';
import { localDrivers } from '../../../src/adapters/storage/ext-driver-call.js';
import { nodeRoutedDrivers } from '../../../src/adapters/storage/node-routed-drivers.js';
import type { DiskTarget, DriverCall, StorageContext } from '../../../src/domain/ports/disk-storage.js';
import { makeNodeDir, makeTestCa, startNoded, tempRoot, type RunningNoded } from '../../noded/cluster-pki.js';
import { hostileDriverContract } from './hostile-contract.js';

/**
 * `ext` drivers through the real `opl-noded`: n1 was given the fixture drivers with
 * --driver-dir; n2's driver directory holds, in n2's own mount namespace only, a driver
 * this host does not have (as a driver installed on a node and not on the engine's host).
 * Nothing of the engine's host search path is used: the local finder looks nowhere.
 */
const DRIVERS = resolve(import.meta.dirname, '../../fixtures/drivers');
const root = tempRoot();
const n2Drivers = join(root, 'n2-drivers');
const daemons: RunningNoded[] = [];
const clients = new Map<string, RemoteNode>();
const nowhere = localDrivers(['/nonexistent/opl-must-not-be-used'], undefined);
const routed = () => extDiskStorage(nodeRoutedDrivers(nowhere, (name) => clients.get(name)));

beforeAll(async () => {
  const hidden = join(root, 'hidden');
  mkdirSync(n2Drivers);
  cpSync(join(DRIVERS, 'counted'), join(hidden, 'only-on-n2'), { recursive: true });
  const ca = await makeTestCa(root, 'c1');
  const engine = await ca.certify('opl-engine', 'client');
  const ownMounts = ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', 'mount --bind "$1" "$2" && shift 2 && exec "$@"', 'sh', hidden, n2Drivers];
  for (const [name, driverDirs, wrap] of [['n1', [DRIVERS]], ['n2', [n2Drivers], ownMounts]] as const) {
    const dir = await makeNodeDir(root, ca, name, await ca.certify(name, 'node', { names: [name, '127.0.0.1'] }), [], [...driverDirs]);
    const daemon = await startNoded(dir, undefined, wrap ? { wrap: [...wrap] } : {});
    daemons.push(daemon);
    clients.set(name, remoteNode({ name, host: '127.0.0.1', port: daemon.port, caPem: ca.caPem(), ...engine, timeoutMs: 5_000, retries: 1 }));
  }
}, 60_000);

afterAll(async () => {
  for (const client of clients.values()) client.close();
  await Promise.all(daemons.map((d) => d.stop()));
  rmSync(root, { recursive: true, force: true });
});

hostileDriverContract('through opl-noded', () => routed());

const target = (nodeName: string, driver: string, dir: string): DiskTarget => ({
  nodeName,
  template: 'ext',
  instance: { name: 'vm', uuid: `u-${nodeName}-${driver}`, tags: [] },
  disk: { index: 0, sizeMib: 10, logicalId: '', pool: 'p', params: {}, adopted: false },
  pool: { name: 'p', driver, params: { dir }, timeoutSeconds: 20 },
  peers: [nodeName],
});

const context = (callId?: string) => {
  const recorded: DriverCall[] = [];
  const ctx: StorageContext = { ...(callId && { callId }), recordCall: async (call) => void recorded.push(call), log: async () => {}, claimLogicalId: async () => undefined };
  return { ctx, recorded };
};

const runBody = (node: string, overrides: Record<string, unknown> = {}) => ({
  node,
  driver: 'counted',
  action: 'create',
  env: { NODE_NAME: node, INSTANCE_NAME: 'vm', DISK_INDEX: '0', DISK_SIZE: '10', VOL_NAME: 'v', EXTP_DIR: join(root, `pool-${node}`) },
  timeoutMs: 10_000,
  ...overrides,
});

describe('ext drivers run on the node, with its own driver directories', () => {
  it("runs a driver only the node has, and the engine's host, asked, does not find it", async () => {
    const pool = join(root, 'pool-only');
    mkdirSync(pool);
    const { ctx, recorded } = context('only-1');
    const made = await routed().create(target('n2', 'only-on-n2', pool), ctx);
    expect(made?.logicalId).toMatch(/^vol-vm-0-\d+$/);
    expect(recorded.map((c) => `${c.action}:${c.outcome}`)).toEqual(['create:ok', 'attach:ok', 'detach:ok']);
    expect(readFileSync(join(pool, 'calls'), 'utf8')).toMatch(/^create vm 0 \d+\n/);
    const local = extDiskStorage(localDrivers([n2Drivers], undefined));
    await expect(local.create(target('n2', 'only-on-n2', pool), context().ctx)).rejects.toThrow(/storage driver 'only-on-n2' of pool 'p' was not found in .*n2-drivers/);
  });

  it("says a driver is not on the node, naming the node and where it looked", async () => {
    await expect(routed().create(target('n1', 'only-on-n2', join(root, 'x')), context('absent-1').ctx)).rejects.toThrow(
      `storage driver 'only-on-n2' is not on node n1 (looked in ${DRIVERS}:/usr/share/ganeti/extstorage)`,
    );
  });

  it('runs a journaled call once however often it is sent: the second answer is the first run', async () => {
    mkdirSync(join(root, 'pool-n1'), { recursive: true });
    const client = clients.get('n1')!;
    const first = await client.call('driver-run', runBody('n1', { callId: 'once-1' }));
    const again = await client.call('driver-run', runBody('n1', { callId: 'once-1' }));
    // The driver prints its own pid: the same output is the same run.
    const output = (answer: unknown) => (answer as { run: { exitCode: number; stdout: string } }).run;
    expect(output(again)).toMatchObject({ exitCode: 0, stdout: output(first).stdout });
    expect(output(first).stdout).toMatch(/^vol-vm-0-\d+\n$/);
    expect(readFileSync(join(root, 'pool-n1', 'calls'), 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it.each([
    ['a variable outside the protocol', { env: { ...runBody('n1').env, PATH: '/tmp/evil' } }, /expected only storage-driver protocol variables/],
    ['a driver named as a path', { driver: '../counted' }, /expected a driver name/],
    ['another node in NODE_NAME', { env: { ...runBody('n1').env, NODE_NAME: 'n2' } }, /a driver call whose NODE_NAME is not 'n1'/],
    ['an action outside the protocol', { action: 'format' }, /action/],
    ['a call id that is a path', { callId: '../../etc/x' }, /expected a call id/],
    ['a NUL byte in a value', { env: { ...runBody('n1').env, INSTANCE_NAME: 'v\0m' } }, /expected no NUL byte in a value/],
  ])('refuses %s and runs nothing', async (_what, overrides, why) => {
    rmSync(join(root, 'pool-refused'), { recursive: true, force: true });
    mkdirSync(join(root, 'pool-refused'));
    const body = { ...runBody('n1', overrides), ...('env' in overrides ? {} : { env: { ...runBody('n1').env, EXTP_DIR: join(root, 'pool-refused') } }) };
    await expect(clients.get('n1')!.call('driver-run', body)).rejects.toThrow(why);
    expect(() => readFileSync(join(root, 'pool-refused', 'calls'))).toThrow(/ENOENT/);
  });

  it("takes what the engine may send: a fractional pool timeout, a disk parameter with a '-' in its name", async () => {
    const pool = join(root, 'pool-odd');
    mkdirSync(pool);
    const odd = target('n1', 'counted', pool);
    const withOdd: DiskTarget = { ...odd, pool: { ...odd.pool!, timeoutSeconds: 1.005 }, disk: { ...odd.disk, params: { 'block-size': '4k' } } };
    expect((await routed().create(withOdd, context('odd-1').ctx))?.logicalId).toMatch(/^vol-vm-0-\d+$/);
  });

  it('says which drivers are on the node with what a pool needs', async () => {
    expect(await clients.get('n2')!.call('driver-check', { node: 'n2', drivers: ['only-on-n2', 'counted'] })).toEqual({
      drivers: [{ driver: 'only-on-n2' }, { driver: 'counted', problem: `is not here (looked in ${n2Drivers}:/usr/share/ganeti/extstorage)` }],
    });
    expect(await clients.get('n1')!.call('driver-check', { node: 'n1', drivers: ['leaky'] })).toEqual({ drivers: [{ driver: 'leaky' }] });
  });

  it("believes a node's run only in the promised shape", async () => {
    const liar = extDiskStorage(nodeRoutedDrivers(nowhere, () => ({ call: async () => ({ style: 'opledger', run: { exitCode: 0, stdout: 7 } }) })));
    await expect(liar.create(target('n1', 'counted', join(root, 'x')), context('liar-1').ctx)).rejects.toThrow(
      "node n1 answered driver-run of 'counted' create with something that is not a driver's run",
    );
  });
});
