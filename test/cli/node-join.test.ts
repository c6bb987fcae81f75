import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueJoinToken } from '../../src/adapters/pki/join-tokens.js';
import { caDirOf } from '../../src/adapters/pki/openssl-ca.js';
import { startNoded, tempRoot, type RunningNoded } from '../noded/cluster-pki.js';
import { newSite, ok, type Site } from './opl.js';

/**
 * Joining a host with a one-time token, against the real `opl-noded --join` on loopback:
 * the node makes its own key, the cluster certifies it only once both sides proved they
 * hold the token, and every way of getting that wrong is refused with nothing recorded.
 */
interface NodeJson { name: string; address?: string; reported?: { memoryTotalMib: number } }

let site: Site;
let root: string;
const daemons: RunningNoded[] = [];

const WAITING = /^waiting to join as node \S+ at [^\n]*:(\d+)$/m;
const joining = async (name: string, token: string, dir = mkdtempSync(join(root, `join-${name}-`))) => {
  const daemon = await startNoded(dir, ['--listen', '127.0.0.1:0', '--name', name], { env: { OPL_JOIN_TOKEN: token }, ready: WAITING });
  daemons.push(daemon);
  return { daemon, dir };
};
const token = async (name: string) => (await ok(site.opl('node', 'token', name))).stdout.trim();
const nodeNames = async () => (await site.json<NodeJson[]>('node', 'list')).map((n) => n.name);
const outstanding = () => readdirSync(join(caDirOf(site.dataDir), 'join-tokens')).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();

/** Every file under DIR, read whole: to show the node's key is nowhere in the cluster's data dir. */
const allText = (dir: string): string =>
  readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => readFileSync(join(e.parentPath, e.name), 'latin1'))
    .join('\n');

/** A caller that is not the cluster: posts to a joining node without any proof worth the name. */
const post = (port: number, call: string, body: unknown): Promise<{ status: number; text: string }> =>
  new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: `/1/${call}`, rejectUnauthorized: false, agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });

beforeAll(async () => {
  site = newSite();
  root = tempRoot();
  await ok(site.opl('cluster', 'init', 'c1'));
  await ok(site.opl('group', 'add', 'g1'));
}, 60_000);

afterAll(async () => {
  await Promise.all(daemons.map((d) => d.stop()));
  rmSync(root, { recursive: true, force: true });
  rmSync(site.dataDir, { recursive: true, force: true });
});

describe('joining a node with a one-time token (opl node token, opl-noded --join)', () => {
  it('joins: the node keeps its own key, is certified for its name and address, and then serves mutual TLS', async () => {
    const { daemon, dir } = await joining('n1', await token('n1'));
    expect(outstanding()).toEqual(['n1']);
    const added = await ok(site.opl('node', 'add', 'n1', '--group', 'g1', '--address', `127.0.0.1:${daemon.port}`));
    expect(added.stdout + added.stderr).toMatch(/joined the cluster: its own key certified \(serial [0-9A-F]+\)/);
    await daemon.printed(/^joined; listening on 127\.0\.0\.1:\d+$/m);
    const info = await site.json<NodeJson>('node', 'info', 'n1');
    expect(info).toMatchObject({ name: 'n1', address: `127.0.0.1:${daemon.port}`, reported: { memoryTotalMib: expect.any(Number) } });
    expect(statSync(join(dir, 'node.key')).mode & 0o777).toBe(0o600);
    const key = readFileSync(join(dir, 'node.key'), 'utf8').split('\n').filter((l) => l && !l.startsWith('-----')).join('');
    // Past the PKCS#8 header every P-256 key shares: the private scalar itself.
    expect(allText(site.dataDir)).not.toContain(key.slice(48, 88));
    expect(readFileSync(join(dir, 'ca.pem'), 'utf8')).toBe(readFileSync(join(caDirOf(site.dataDir), 'ca.pem'), 'utf8'));
    expect(outstanding()).toEqual([]); // spent
    // Now a joined node: the join calls are gone, a caller without the cluster's certificate is refused at the handshake.
    await expect(post(daemon.port, 'join-request', { nonce: 'ab'.repeat(16) })).rejects.toThrow(/certificate|alert|socket hang up|ECONNRESET/i);
  });

  it('refuses a host started with another token, spends nothing, and the host stays unjoined', async () => {
    const real = await token('n2');
    const wrong = `opl1.${'A'.repeat(43)}`;
    const { daemon, dir } = await joining('n2', wrong);
    const result = await site.opl('node', 'add', 'n2', '--group', 'g1', '--address', `127.0.0.1:${daemon.port}`);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/node n2 at 127\.0\.0\.1:\d+ could not prove it holds the join token issued for n2/);
    expect(await nodeNames()).not.toContain('n2');
    expect(outstanding()).toContain('n2');
    expect(readdirSync(dir)).not.toContain('node.pem');
    expect(real).not.toBe(wrong);
  });

  it("a joining node refuses a caller that cannot prove the token, and stays waiting for the cluster's", async () => {
    const { daemon, dir } = await joining('n3', await token('n3'));
    const bogus = await post(daemon.port, 'join-complete', { certPem: 'x', caPem: 'y', crlPem: 'z', proof: '0'.repeat(64) });
    expect(bogus.status).toBe(403);
    expect(bogus.text).toMatch(/the proof does not hold/);
    const junk = await post(daemon.port, 'join-request', { nonce: 'not hex' });
    expect(junk.status).toBe(400);
    expect(readdirSync(dir)).not.toContain('node.pem');
    await ok(site.opl('node', 'add', 'n3', '--group', 'g1', '--address', `127.0.0.1:${daemon.port}`));
    expect(await nodeNames()).toContain('n3');
  });

  it('refuses an expired token, and a host that has joined already', async () => {
    issueJoinToken(site.dataDir, 'n4', 60_000, Date.now() - 120_000);
    const { daemon } = await joining('n4', `opl1.${'B'.repeat(43)}`);
    const expired = await site.opl('node', 'add', 'n4', '--group', 'g1', '--address', `127.0.0.1:${daemon.port}`);
    expect(expired.code).not.toBe(0);
    expect(expired.stderr).toMatch(/the join token for node n4 expired at \d{4}-.*; issue a new one \('opl node token n4'\)/);
    await token('n5');
    const n1 = (await site.json<NodeJson>('node', 'info', 'n1')).address!;
    const already = await site.opl('node', 'add', 'n5', '--group', 'g1', '--address', n1);
    expect(already.code).not.toBe(0);
    expect(already.stderr).toMatch(/node n5 at 127\.0\.0\.1:\d+ is not waiting to join/);
    expect(await nodeNames()).not.toContain('n4');
    expect(await nodeNames()).not.toContain('n5');
  });

  it('keeps every token issued at the same moment for different nodes', async () => {
    const names = Array.from({ length: 8 }, (_, i) => `p${i}`);
    await Promise.all(names.map((n) => token(n)));
    expect(outstanding().filter((n) => n.startsWith('p'))).toEqual(names);
  });

  it('refuses bad token requests and daemons started wrongly, in one line', async () => {
    const name = await site.opl('node', 'token', 'bad/name');
    expect(name.code).toBe(2);
    expect(name.stderr).toMatch(/^opl: node token: 'bad\/name' is not a node name/);
    const ttl = await site.opl('node', 'token', 'n6', '--ttl', '9y');
    expect(ttl.code).toBe(2);
    expect(ttl.stderr).toMatch(/--ttl '9y': expected a duration such as 30m, 1h or 2d/);
    const member = await site.opl('node', 'token', 'n1');
    expect(member.code).toBe(1);
    expect(member.stderr).toMatch(/node 'n1' is in the cluster already/);
    const json = await site.json<{ node: string; token: string; expiresAt: string }>('node', 'token', 'n6', '--ttl', '30m');
    expect(json.token).toMatch(/^opl1\.[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(json.expiresAt) - Date.now()).toBeGreaterThan(29 * 60_000);

    const empty = mkdtempSync(join(root, 'nojoin-'));
    await expect(startNoded(empty, ['--listen', '127.0.0.1:0', '--name', 'n7'])).rejects.toThrow(/holds no certificate of a cluster: join one with --join TOKEN/);
    await expect(startNoded(empty, ['--listen', '127.0.0.1:0', '--name', 'n7', '--join', 'secret'])).rejects.toThrow(/--join: not a join token/);
  });
});
