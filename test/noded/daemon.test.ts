import { readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { remoteNode, type RemoteNodeOptions } from '../../src/adapters/nodes/remote-client.js';
import { revokeCertificate } from '../../src/adapters/pki/openssl-ca.js';
import { parseMeminfo } from '../../src/noded/facts.js';
import { makeNodeDir, makeTestCa, startNoded, tempRoot, type RunningNoded, type TestCa } from './cluster-pki.js';

/**
 * The real `opl-noded` on loopback, called as the engine calls it, with certificates
 * made by the cluster's real authority (openssl): who it serves and whom it refuses.
 */
let root: string;
let ca: TestCa;
let other: TestCa;
let daemon: RunningNoded;
let engine: { keyPem: string; certPem: string };
let storageDir: string;

const caller = (overrides: Partial<RemoteNodeOptions> = {}) =>
  remoteNode({ name: 'n1', host: '127.0.0.1', port: daemon.port, caPem: ca.caPem(), ...engine, timeoutMs: 5_000, retries: 0, ...overrides });

beforeAll(async () => {
  root = tempRoot();
  storageDir = root;
  [ca, other] = await Promise.all([makeTestCa(root, 'c1'), makeTestCa(root, 'c2')]);
  engine = await ca.certify('opl-engine', 'client');
  const node = await ca.certify('n1', 'node', { names: ['n1', '127.0.0.1'] });
  daemon = await startNoded(await makeNodeDir(root, ca, 'n1', node, [storageDir]));
}, 60_000);

afterAll(async () => {
  await daemon?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('opl-noded over mutual TLS', () => {
  it("serves the cluster's client the host's real facts", async () => {
    const client = caller();
    try {
      const facts = await client.facts();
      const meminfo = parseMeminfo(readFileSync('/proc/meminfo', 'utf8'));
      expect(facts.name).toBe('n1');
      expect(facts.memoryTotalMib).toBe(meminfo.totalMib);
      expect(facts.memoryFreeMib).toBeGreaterThan(0);
      expect(facts.memoryFreeMib).toBeLessThanOrEqual(facts.memoryTotalMib);
      expect(facts.cpus).toBe((await import('node:os')).cpus().length);
      expect(facts.storage).toHaveLength(1);
      expect(facts.storage[0]).toMatchObject({ path: storageDir });
      expect(facts.storage[0]!.totalMib).toBeGreaterThan(0);
      expect(Math.abs(facts.time - Date.now())).toBeLessThan(60_000);
      expect(await client.call('ping')).toEqual({ name: 'n1' });
    } finally {
      client.close();
    }
  });

  it('refuses a caller without a certificate, during the handshake', async () => {
    const client = caller({ certPem: '', keyPem: '' });
    try {
      await expect(client.call('ping')).rejects.toMatchObject({ kind: expect.toBeOneOf(['refused', 'unreachable']) });
    } finally {
      client.close();
    }
  });

  it("refuses a caller whose certificate another cluster's authority signed", async () => {
    const stranger = await other.certify('opl-engine', 'client');
    const client = caller(stranger);
    try {
      await expect(client.call('ping')).rejects.toMatchObject({ kind: expect.toBeOneOf(['refused', 'unreachable']) });
    } finally {
      client.close();
    }
  });

  it('refuses a caller whose certificate has expired', async () => {
    const expired = await ca.certify('opl-engine', 'client', { startDate: '20200101000000Z', endDate: '20200102000000Z' });
    const client = caller(expired);
    try {
      await expect(client.call('ping')).rejects.toMatchObject({ kind: expect.toBeOneOf(['refused', 'unreachable']) });
    } finally {
      client.close();
    }
  });

  it('refuses a caller whose certificate was revoked, once the node holds the new revocation list', async () => {
    const revoked = await ca.certify('opl-operator', 'client');
    await revokeCertificate(ca.dir, revoked.certPem);
    const node = await ca.certify('n1', 'node', { names: ['n1', '127.0.0.1'] });
    const second = await startNoded(await makeNodeDir(root, ca, 'n1', node));
    const client = caller({ ...revoked, port: second.port });
    const good = caller({ port: second.port });
    try {
      await expect(client.call('ping')).rejects.toMatchObject({ kind: expect.toBeOneOf(['refused', 'unreachable']) });
      expect(await good.call('ping')).toEqual({ name: 'n1' }); // the others still get in
    } finally {
      client.close();
      good.close();
      await second.stop();
    }
  });

  it("refuses a node that presents another cluster's certificate, or another node's", async () => {
    const strangerNode = await other.certify('n1', 'node', { names: ['n1', '127.0.0.1'] });
    const impostor = await startNoded(await makeNodeDir(root, other, 'n1', strangerNode));
    const wrongName = caller({ name: 'n2' }); // n1's daemon, called as n2
    const toImpostor = caller({ port: impostor.port });
    try {
      await expect(toImpostor.call('ping')).rejects.toMatchObject({ kind: 'not-this-cluster', message: expect.stringMatching(/^node n1 at 127\.0\.0\.1:\d+ is not this cluster's node n1: its certificate is not one this cluster's authority signed/) });
      await expect(wrongName.call('ping')).rejects.toMatchObject({ kind: 'not-this-cluster', message: expect.stringMatching(/certificate names another node/) });
    } finally {
      toImpostor.close();
      wrongName.close();
      await impostor.stop();
    }
  });

  it('says a node that does not answer is unreachable, after its bounded retries', async () => {
    const stopped = await startNoded(await makeNodeDir(root, ca, 'n1', await ca.certify('n1', 'node', { names: ['n1'] })));
    const port = stopped.port;
    await stopped.stop();
    const client = caller({ port, retries: 2, retryDelayMs: 1 });
    try {
      await expect(client.call('ping')).rejects.toMatchObject({ kind: 'unreachable', message: `node n1 at 127.0.0.1:${port} is unreachable (ECONNREFUSED)` });
    } finally {
      client.close();
    }
  });

  it('answers an unknown call and a body that is not JSON with an error, in its words', async () => {
    const client = caller();
    try {
      await expect(client.call('no-such-call')).rejects.toMatchObject({ kind: 'node-error', message: expect.stringContaining('no call POST /1/no-such-call on this node') });
    } finally {
      client.close();
    }
  });
});

describe('opl-noded start-up', () => {
  it('refuses a directory that holds no node in one line, exit 1', async () => {
    await expect(startNoded(root)).rejects.toThrow(/exited \(1\) before listening; stderr: opl-noded: \S+ holds no certificate of a cluster: join one with --join TOKEN .*\n$/);
  });
});
