import Database from 'better-sqlite3';
import { createPublicKey } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { newSite, ok, type Site } from './opl.js';

const sites: Site[] = [];
afterAll(() => sites.forEach((s) => rmSync(s.dataDir, { recursive: true, force: true })));

const cluster = async (): Promise<Site> => {
  const site = newSite();
  sites.push(site);
  await ok(site.opl('cluster', 'init', 'c1'));
  await ok(site.opl('group', 'add', 'g1'));
  await ok(site.opl('node', 'add', 'n1', '--group', 'g1', '--memory', '4G', '--cpus', '4'));
  return site;
};

const sql = (site: Site, run: (db: Database.Database) => void) => {
  const db = new Database(join(site.dataDir, 'opledger.sqlite'));
  try {
    run(db);
  } finally {
    db.close();
  }
};

describe('opl audit commands on an SQLite log', () => {
  it('audit verify names the end of a log deleted by SQL, which every other command refuses to serve', async () => {
    const site = await cluster();
    const before = (await site.json<{ events: number }>('audit', 'verify')).events;
    // The last event and its stream head, as someone with the file would edit them.
    sql(site, (db) => {
      const last = db.prepare('SELECT stream, revision FROM opl_events ORDER BY position DESC LIMIT 1').get() as { stream: string; revision: number };
      db.prepare('DELETE FROM opl_events WHERE position = ?').run(before);
      db.prepare('UPDATE opl_streams SET revision = ? WHERE stream = ?').run(last.revision - 1, last.stream);
    });
    const text = await site.opl('audit', 'verify');
    expect(text.code).toBe(1);
    expect(text.stderr).toMatch(
      new RegExp(`^opl: audit verify: position ${before}: the log ends at position ${before - 1} but position ${before} \\(event [0-9a-f-]{36}\\) was committed, as .*opledger\\.sqlite-head witnesses: events at its end were dropped \\[truncated\\]\\n$`),
    );
    const json = await site.opl('audit', 'verify', '--output', 'json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, events: before - 1, fault: { kind: 'truncated', position: before } });
    // Views are still refused: only the auditor's command opens such a log.
    const list = await site.opl('instance', 'list');
    expect(list.code).toBe(1);
    expect(list.stderr).toMatch(/^opl: the log at .* ends at position \d+ but position \d+ .* was committed/);
    expect(list.stderr.trim().split('\n')).toHaveLength(1);
  }, 60_000);

  it('audit public-key and audit upgrade answer --output json', async () => {
    const site = await cluster();
    const pem = (await ok(site.opl('audit', 'public-key'))).stdout;
    const key = await site.json<{ fingerprint: string; publicKey: string }>('audit', 'public-key');
    expect(key.publicKey).toBe(pem);
    expect(createPublicKey(key.publicKey).asymmetricKeyType).toBe('ed25519');
    expect(key.fingerprint).toMatch(/^sha256:[0-9a-f]{32}$/);
    const events = (await site.json<{ events: number }>('audit', 'verify')).events;
    // The log as format 1 wrote it: no chain columns.
    sql(site, (db) => {
      db.exec("ALTER TABLE opl_events DROP COLUMN prev_hash; ALTER TABLE opl_events DROP COLUMN hash; UPDATE opl_meta SET value = 'opledger-events-1' WHERE key = 'format'");
    });
    expect(await site.json('audit', 'upgrade')).toEqual({ events, from: 'opledger-events-1', to: 'opledger-events-2' });
    expect(await site.json('audit', 'verify')).toMatchObject({ ok: true, events });
    const help = await ok(site.opl('audit', 'upgrade', '--help'));
    expect(help.stdout).toMatch(/^Usage: opl audit upgrade \[--output json\]\n/);
  }, 60_000);
});
