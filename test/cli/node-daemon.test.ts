import { readFileSync, rmSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caDirOf, issueCertificate, makeKeyAndRequest } from '../../src/adapters/pki/openssl-ca.js';
import { parseMeminfo } from '../../src/noded/facts.js';
import { makeNodeDir, makeTestCa, startNoded, tempRoot, type RunningNoded, type TestCa } from '../noded/cluster-pki.js';
import { newSite, ok, type Site } from './opl.js';

/**
 * `opl node add --address` against the real `opl-noded` on loopback. Until joining is
 * built (a one-time token), the node's certificate is issued here by the cluster's own
 * authority in the data dir, as the join will do; the node's key is made for it alone.
 */
interface NodeJson { name: string; memoryTotal: number; cpus: number; address?: string; reported?: { memoryTotalMib: number; cpus: number; clockSkewMs: number; hostname: string } }

let site: Site;
let root: string;
let daemon: RunningNoded;
let stranger: TestCa;

const clusterCa = (): TestCa => {
  const dir = caDirOf(site.dataDir);
  return {
    dir,
    caPem: () => readFileSync(`${dir}/ca.pem`, 'utf8'),
    certify: async (commonName, kind, extra = {}) => {
      const { keyPem, csrPem } = await makeKeyAndRequest(commonName);
      return { keyPem, certPem: await issueCertificate(dir, { csrPem, commonName, kind, ...extra }) };
    },
  };
};

const nodeNames = async () => (await site.json<NodeJson[]>('node', 'list')).map((n) => n.name);

beforeAll(async () => {
  site = newSite();
  root = tempRoot();
  await ok(site.opl('cluster', 'init', 'c1'));
  await ok(site.opl('group', 'add', 'g1'));
  const ca = clusterCa();
  daemon = await startNoded(await makeNodeDir(root, ca, 'n1', await ca.certify('n1', 'node', { names: ['n1', '127.0.0.1'] })));
  stranger = await makeTestCa(root, 'other');
}, 60_000);

afterAll(async () => {
  await daemon?.stop();
  rmSync(root, { recursive: true, force: true });
  rmSync(site.dataDir, { recursive: true, force: true });
});

describe('opl node add --address: a real node daemon over mutual TLS', () => {
  it("cluster init makes the cluster's authority and the engine's client certificate, keys private", () => {
    const dir = caDirOf(site.dataDir);
    for (const key of ['ca.key', 'engine.key']) expect(statSync(`${dir}/${key}`).mode & 0o777).toBe(0o600);
    expect(readFileSync(`${dir}/ca.pem`, 'utf8')).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(readFileSync(`${dir}/engine.pem`, 'utf8')).toMatch(/^-----BEGIN CERTIFICATE-----/);
  });

  it('adds the node with the memory and CPUs it reports, and shows what it reported and when', async () => {
    await ok(site.opl('node', 'add', 'n1', '--group', 'g1', '--address', `127.0.0.1:${daemon.port}`));
    const info = await site.json<NodeJson>('node', 'info', 'n1');
    const total = parseMeminfo(readFileSync('/proc/meminfo', 'utf8')).totalMib;
    expect(info).toMatchObject({ name: 'n1', memoryTotal: total, address: `127.0.0.1:${daemon.port}`, reported: { memoryTotalMib: total } });
    expect(info.cpus).toBe(info.reported!.cpus);
    expect(Math.abs(info.reported!.clockSkewMs)).toBeLessThan(60_000);
    const text = await ok(site.opl('node', 'info', 'n1'));
    expect(text.stdout).toMatch(/Address: +127\.0\.0\.1:\d+/);
    expect(text.stdout).toMatch(/Reported at: +\d{4}-\d\d-\d\dT/);
  });

  it('refuses a host whose certificate names another node, and adds nothing', async () => {
    const before = await nodeNames();
    const result = await site.opl('node', 'add', 'n2', '--group', 'g1', '--address', `127.0.0.1:${daemon.port}`);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/node n2 at 127\.0\.0\.1:\d+ is not this cluster's node n2: its certificate names another node/);
    expect(await nodeNames()).toEqual(before);
  });

  it("refuses a node daemon that presents another cluster's certificate", async () => {
    const impostor = await startNoded(await makeNodeDir(root, stranger, 'n3', await stranger.certify('n3', 'node', { names: ['n3', '127.0.0.1'] })));
    try {
      const result = await site.opl('node', 'add', 'n3', '--group', 'g1', '--address', `127.0.0.1:${impostor.port}`);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/node n3 at 127\.0\.0\.1:\d+ is not this cluster's node n3: its certificate is not one this cluster's authority signed/);
      expect(await nodeNames()).not.toContain('n3');
    } finally {
      await impostor.stop();
    }
  });

  it('says a node that does not answer is unreachable, and adds nothing', async () => {
    const gone = await startNoded(await makeNodeDir(root, clusterCa(), 'n4', await clusterCa().certify('n4', 'node', { names: ['n4'] })));
    const port = gone.port;
    await gone.stop();
    const result = await site.opl('node', 'add', 'n4', '--group', 'g1', '--address', `127.0.0.1:${port}`);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(new RegExp(`node n4 at 127\\.0\\.0\\.1:${port} is unreachable \\(ECONNREFUSED\\)`));
    expect(await nodeNames()).not.toContain('n4');
  });

  it('refuses a bad address in one line, exit 2, and a local node without its capacity', async () => {
    const bad = await site.opl('node', 'add', 'n5', '--group', 'g1', '--address', 'host:99999');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^opl: node add: --address 'host:99999': port 99999 is not between 1 and 65535\n$/);
    const local = await site.opl('node', 'add', 'n5', '--group', 'g1');
    expect(local.code).not.toBe(0);
    expect(local.stderr).toMatch(/a node without an address needs --memory and --cpus/);
    expect(await nodeNames()).not.toContain('n5');
  });
});
