import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { remoteNode, type RemoteNode } from '../../../src/adapters/nodes/remote-client.js';
import { createBlockDeviceStorage, identifyDevice } from '../../../src/adapters/storage/block-devices.js';
import { nodeRoutedIdentify } from '../../../src/adapters/storage/node-routed-devices.js';
import { makeNodeDir, makeTestCa, startNoded, tempRoot, type RunningNoded } from '../../noded/cluster-pki.js';

/**
 * Devices as a node with a daemon sees them: the real `opl-noded` on loopback looks at a
 * real loop device (this suite runs as root, as CI does) and answers what the local
 * adapter would, under every spelling; the engine believes only a device sighting.
 */
let root: string;
let daemon: RunningNoded;
let client: RemoteNode;
let device = '';
const unusedLocal = () => Promise.reject(new Error('the local adapter must not be asked'));
const routed = () => nodeRoutedIdentify((name) => (name === 'n1' ? client : undefined), unusedLocal);

beforeAll(async () => {
  root = tempRoot();
  const ca = await makeTestCa(root, 'c1');
  const engine = await ca.certify('opl-engine', 'client');
  daemon = await startNoded(await makeNodeDir(root, ca, 'n1', await ca.certify('n1', 'node', { names: ['n1', '127.0.0.1'] })));
  client = remoteNode({ name: 'n1', host: '127.0.0.1', port: daemon.port, caPem: ca.caPem(), ...engine, timeoutMs: 5_000, retries: 0 });
  execFileSync('truncate', ['-s', String(8 << 20), join(root, 'lun.img')]);
  device = execFileSync('losetup', ['-f', '--show', join(root, 'lun.img')], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
}, 60_000);

afterAll(async () => {
  if (device) execFileSync('losetup', ['-d', device], { stdio: 'ignore' });
  client?.close();
  await daemon?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('what a device path is, asked of the node that has it', () => {
  it('answers what the local adapter answers, under every spelling and through links', async () => {
    mkdirSync(join(root, 'by-id'));
    symlinkSync(device, join(root, 'by-id', 'wwn-1'));
    const here = await identifyDevice('n1', device);
    expect(here.kind).toBe('device');
    for (const path of [device, join(root, 'by-id', 'wwn-1'), `${root}//by-id/wwn-1`]) expect(await routed()('n1', path)).toEqual(here);
    writeFileSync(join(root, 'plain'), 'x');
    expect(await routed()('n1', join(root, 'plain'))).toEqual({ kind: 'problem', message: `node n1: ${join(root, 'plain')} is not a block device` });
  });

  it('adopts through the daemon: the size is what the node reports', async () => {
    const storage = createBlockDeviceStorage(routed());
    const target = { nodeName: 'n1', template: 'blockdev' as const, instance: { name: 'db', uuid: 'u', tags: [] }, disk: { index: 0, sizeMib: 0, logicalId: device, params: {}, adopted: true }, peers: ['n1'] };
    expect(await storage.create(target, { recordCall: async () => undefined, log: async () => undefined })).toEqual({ logicalId: device, sizeMib: 8 });
  });

  it('refuses a path with . or .. in one line, and a call meant for another node', async () => {
    await expect(client.call('dev-identify', { node: 'n1', path: '/dev/../etc/shadow' })).rejects.toThrow(/a device call whose 'path' is not valid \(expected an absolute path without \. or \.\. components\)/);
    await expect(client.call('dev-identify', { node: 'n2', path: device })).rejects.toThrow(/a device call for node 'n2' reached node 'n1'/);
  });

  it('believes only a device sighting', async () => {
    const liar = nodeRoutedIdentify(() => ({ call: async () => ({ kind: 'device', deviceNumber: 'eight', sizeBytes: -1 }) }), unusedLocal);
    await expect(liar('n1', device)).rejects.toMatchObject({ kind: 'bad-answer', message: `node n1 answered what ${device} is with something that is not a device sighting` });
  });
});
