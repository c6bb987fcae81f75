import { copyFileSync, existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { checkpointMessage } from '../../src/domain/audit-events.js';
import { chainHash } from '../../src/domain/log-chain.js';
import { freshSchemaUrl } from '../adapters/stores/pg-url.js';
import { newSite, ok, type Site } from './opl.js';

/** Runs SQL against a site's log as someone with the database's password would. */
interface Sql {
  run(sql: string, ...params: unknown[]): Promise<void>;
  rows<T>(sql: string, ...params: unknown[]): Promise<T[]>;
  /** The column expression for `data` as text, and back. */
  dataText: string;
  toData: (param: string) => string;
  close(): Promise<void>;
}

const sqliteSql = (path: string): Sql => {
  const db = new Database(path);
  db.pragma('busy_timeout = 15000');
  return {
    run: async (sql, ...params) => void db.prepare(sql).run(...params),
    rows: async <T,>(sql: string, ...params: unknown[]) => db.prepare(sql).all(...params) as T[],
    dataText: 'data',
    toData: (p) => p,
    close: async () => void db.close(),
  };
};

const postgresSql = async (url: string): Promise<Sql> => {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema')!;
  parsed.searchParams.delete('schema');
  const client = new pg.Client({ connectionString: parsed.toString(), options: `-c search_path=${schema}` });
  await client.connect();
  // `?` placeholders in the shared SQL below become $1, $2…
  const numbered = (sql: string) => {
    let n = 0;
    return sql.replace(/\?/g, () => `$${++n}`);
  };
  return {
    run: async (sql, ...params) => void (await client.query(numbered(sql), params)),
    rows: async <T,>(sql: string, ...params: unknown[]) => (await client.query(numbered(sql), params)).rows as T[],
    dataText: 'data::text',
    toData: (p) => `${p}::jsonb`,
    close: () => client.end(),
  };
};

interface Row { position: number; stream: string; revision: number; id: string; type: string; data: string; metadata: string; prev_hash: string; hash: string }

interface Fault { kind: string; position: number; stream: string; message: string }
interface Report { ok: boolean; events: number; fault: Fault | null; checkpoints: { position: number }[] }

const sites: Site[] = [];
afterAll(() => {
  for (const site of sites) rmSync(site.dataDir, { recursive: true, force: true });
});

/** A small cluster: init, a group, a node, two instances: about thirty events. */
const buildSite = async (store: string | undefined): Promise<Site> => {
  const site = newSite(store);
  sites.push(site);
  await ok(site.opl('cluster', 'init', 'audited'));
  await ok(site.opl('group', 'add', 'g1'));
  await ok(site.opl('node', 'add', 'n1', '--group', 'g1', '--memory', '8G', '--cpus', '8'));
  for (const name of ['web1', 'db1']) {
    await ok(site.opl('instance', 'add', name, '-t', 'diskless', '--memory', '512', '--vcpus', '1', '-n', 'n1'));
  }
  return site;
};

const verify = async (site: Site, ...args: string[]): Promise<{ code: number; report: Report; stderr: string }> => {
  const r = await site.opl('audit', 'verify', '--output', 'json', ...args);
  return { code: r.code, report: JSON.parse(r.stdout) as Report, stderr: r.stderr };
};

const allRows = async (sql: Sql): Promise<Row[]> =>
  (await sql.rows<Row>(`SELECT position, stream, revision, id, type, ${sql.dataText} AS data, metadata, prev_hash, hash FROM opl_events ORDER BY opl_events.position`))
    // PostgreSQL's driver gives BIGINT as text.
    .map((r) => ({ ...r, position: Number(r.position), revision: Number(r.revision) }));

interface Tamper {
  name: string;
  /** Edits the log; returns how to put it back. */
  edit(sql: Sql, rows: Row[]): Promise<() => Promise<void>>;
  /** The first event verify must name, and how. */
  expected(rows: Row[]): { position: number; kind: string };
  /** The stream verify names, when not the one the row at that position had. */
  stream?(rows: Row[]): string;
}

const TARGET = 9; // an event in the middle of the log (a job's event)

const tampers: Tamper[] = [
  {
    name: 'UPDATE of one byte of an event\'s data',
    edit: async (sql, rows) => {
      const row = rows[TARGET - 1]!;
      // One character inside a JSON string value: the text stays valid JSON.
      const at = row.data.indexOf('"', row.data.indexOf(':')) + 1;
      const changed = `${row.data.slice(0, at)}${row.data[at] === 'x' ? 'y' : 'x'}${row.data.slice(at + 1)}`;
      await sql.run(`UPDATE opl_events SET data = ${sql.toData('?')} WHERE position = ?`, changed, TARGET);
      return () => sql.run(`UPDATE opl_events SET data = ${sql.toData('?')} WHERE position = ?`, row.data, TARGET);
    },
    expected: () => ({ position: TARGET, kind: 'hash-mismatch' }),
  },
  {
    name: 'DELETE of a row',
    edit: async (sql, rows) => {
      const row = rows[TARGET - 1]!;
      await sql.run('DELETE FROM opl_events WHERE position = ?', TARGET);
      return () => reinsert(sql, row);
    },
    expected: () => ({ position: TARGET + 1, kind: 'position-gap' }),
  },
  {
    name: 'INSERT of a forged row after the head',
    edit: async (sql, rows) => {
      const last = rows[rows.length - 1]!;
      const forged = { ...last, position: last.position + 1, id: randomUUID(), revision: 999, hash: 'f'.repeat(64), prev_hash: last.hash };
      await reinsert(sql, forged);
      return () => sql.run('DELETE FROM opl_events WHERE position = ?', forged.position);
    },
    expected: (rows) => ({ position: rows.length + 1, kind: 'hash-mismatch' }),
  },
  {
    name: 'INSERT of a row before the first',
    edit: async (sql, rows) => {
      const forged = { ...rows[0]!, position: 0, id: randomUUID(), stream: 'forged' };
      await reinsert(sql, forged);
      return () => sql.run('DELETE FROM opl_events WHERE position = 0');
    },
    expected: () => ({ position: 0, kind: 'unexpected-position' }),
  },
  {
    name: 'swap of two rows\' positions',
    edit: async (sql) => {
      const swap = async () => {
        await sql.run('UPDATE opl_events SET position = -1 WHERE position = ?', TARGET);
        await sql.run('UPDATE opl_events SET position = ? WHERE position = ?', TARGET, TARGET + 1);
        await sql.run('UPDATE opl_events SET position = ? WHERE position = -1', TARGET + 1);
      };
      await swap();
      return swap;
    },
    expected: () => ({ position: TARGET, kind: 'hash-mismatch' }),
    stream: (rows) => rows[TARGET]!.stream,
  },
  {
    name: 'change of a stored hash',
    edit: async (sql, rows) => {
      const row = rows[TARGET - 1]!;
      await sql.run('UPDATE opl_events SET hash = ? WHERE position = ?', `${row.hash[0] === 'a' ? 'b' : 'a'}${row.hash.slice(1)}`, TARGET);
      return () => sql.run('UPDATE opl_events SET hash = ? WHERE position = ?', row.hash, TARGET);
    },
    expected: () => ({ position: TARGET, kind: 'hash-mismatch' }),
  },
];

const reinsert = (sql: Sql, r: Row) =>
  sql.run(
    `INSERT INTO opl_events (position, id, stream, revision, type, data, metadata, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ${sql.toData('?')}, ${sql.toData('?')}, ?, ?)`,
    r.position, r.id, r.stream, r.revision, r.type, r.data, r.metadata, r.prev_hash, r.hash,
  );

const describeAudit = (storeName: string, store: () => string | undefined, openSql: (site: Site) => Promise<Sql>) => {
  describe(`opl audit verify on ${storeName}: direct SQL edits of the log`, () => {
    it('names each edit: position, stream and what differs; the log verifies again once put back', async () => {
      const site = await buildSite(store());
      const intact = await verify(site);
      expect(intact.code).toBe(0);
      expect(intact.report).toMatchObject({ ok: true, fault: null });
      const sql = await openSql(site);
      try {
        const rows = await allRows(sql);
        expect(rows.length).toBeGreaterThan(TARGET + 2);
        for (const tamper of tampers) {
          const undo = await tamper.edit(sql, rows);
          const { code, report } = await verify(site);
          const want = tamper.expected(rows);
          expect({ tamper: tamper.name, code, kind: report.fault?.kind, position: report.fault?.position }).toEqual({ tamper: tamper.name, code: 1, ...want });
          const named = tamper.stream?.(rows) ?? rows.find((r) => r.position === want.position)?.stream;
          if (named && want.kind !== 'unexpected-position') expect(report.fault?.stream).toBe(named);
          const table = await site.opl('audit', 'verify');
          expect(table.code).toBe(1);
          expect(table.stderr.trim().split('\n')).toHaveLength(1);
          expect(table.stderr).toMatch(new RegExp(`^opl: audit verify: position ${want.position} \\(stream `));
          await undo();
          expect((await verify(site)).report.ok).toBe(true);
        }
      } finally {
        await sql.close();
      }
    }, 120_000);

    it('refuses to serve the views past a deleted event instead of showing an empty cluster', async () => {
      const site = await buildSite(store());
      expect((await site.json<unknown[]>('instance', 'list'))).toHaveLength(2);
      const sql = await openSql(site);
      try {
        await sql.run('DELETE FROM opl_events WHERE position = ?', TARGET);
      } finally {
        await sql.close();
      }
      for (const command of [['instance', 'list'], ['cluster', 'verify'], ['node', 'list']]) {
        const r = await site.opl(...command);
        expect(r.code, command.join(' ')).not.toBe(0);
        expect(r.stdout).toBe('');
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).toMatch(new RegExp(`position ${TARGET} is missing.*Run 'opl audit verify'`));
      }
    }, 60_000);

    it('refuses a log in the unchained format at open, naming the upgrade; upgrades it once', async () => {
      const site = await buildSite(store());
      const before = await site.json<unknown[]>('instance', 'list');
      const sql = await openSql(site);
      try {
        // The log as version 1 wrote it: no chain columns, format 1.
        await sql.run('ALTER TABLE opl_events DROP COLUMN prev_hash');
        await sql.run('ALTER TABLE opl_events DROP COLUMN hash');
        await sql.run("UPDATE opl_meta SET value = 'opledger-events-1' WHERE key = 'format'");
      } finally {
        await sql.close();
      }
      const refused = await site.opl('instance', 'list');
      expect(refused.code).toBe(1);
      expect(refused.stderr.trim().split('\n')).toHaveLength(1);
      expect(refused.stderr).toMatch(/format 'opledger-events-1', without a hash chain; upgrade it once with 'opl audit upgrade'/);
      const upgraded = await ok(site.opl('audit', 'upgrade'));
      expect(upgraded.stdout).toMatch(/from opledger-events-1 to opledger-events-2: \d+ events hashed/);
      expect(await site.json('instance', 'list')).toEqual(before);
      expect((await verify(site)).report.ok).toBe(true);
      const again = await site.opl('audit', 'upgrade');
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/already in format 'opledger-events-2': it was upgraded before, nothing done/);
      // The upgraded log takes new events on the same chain.
      await ok(site.opl('instance', 'add', 'late', '-t', 'diskless', '--memory', '256', '--vcpus', '1', '-n', 'n1'));
      expect((await verify(site)).report.ok).toBe(true);
    }, 60_000);
  });
};

const sqlitePath = (site: Site) => join(site.dataDir, 'opledger.sqlite');

describeAudit('SQLite', () => undefined, async (site) => sqliteSql(sqlitePath(site)));
describeAudit('PostgreSQL', freshSchemaUrl, async (site) => postgresSql(site.env.OPL_STORE!));

describe('opl audit checkpoint and verify --public-key on a copied SQLite log', () => {
  it('checks the copy against signed checkpoints with the key from a file; a rewritten log and a forged checkpoint are refused', async () => {
    const site = await buildSite(undefined);
    const key = join(site.dataDir, 'audit-key.pem');
    expect(statSync(key).mode & 0o777).toBe(0o600);
    const first = await ok(site.opl('audit', 'checkpoint'));
    expect(first.stdout).toMatch(/^Checkpoint: position \d+, hash [0-9a-f]{16}…, signed at .* with sha256:[0-9a-f]{32}; recorded at position \d+\n$/);
    await ok(site.opl('instance', 'add', 'later', '-t', 'diskless', '--memory', '256', '--vcpus', '1', '-n', 'n1'));
    await ok(site.opl('audit', 'checkpoint'));
    const publicKey = join(site.dataDir, 'auditor.pem');
    writeFileSync(publicKey, (await ok(site.opl('audit', 'public-key'))).stdout);

    const copyPath = join(site.dataDir, 'copy.sqlite');
    copyFileSync(sqlitePath(site), copyPath);
    expect(existsSync(`${sqlitePath(site)}-wal`) && statSync(`${sqlitePath(site)}-wal`).size > 0).toBe(false);
    const auditor = newSite(`sqlite:${copyPath}`);
    sites.push(auditor);
    const good = await verify(auditor, '--public-key', publicKey);
    expect(good.code).toBe(0);
    expect(good.report.checkpoints).toHaveLength(2);
    const text = await ok(auditor.opl('audit', 'verify', '--public-key', publicKey));
    expect(text.stdout).toMatch(/2 signed checkpoint\(s\) hold, checked with the public key in .*auditor\.pem/);

    // Someone who can write the database rewrites an early event and recomputes the
    // whole chain after it: the chain holds, the signed checkpoints do not.
    const db = new Database(copyPath);
    const rows = db.prepare('SELECT position, stream, revision, id, type, data, metadata FROM opl_events ORDER BY position').all() as Row[];
    const victim = rows.find((r) => r.data.includes('"n1"'))!.position;
    const rewritten = rows.map((r) => (r.position === victim ? { ...r, data: r.data.replace('"n1"', '"nX"') } : r));
    expect(rewritten[victim - 1]!.data).not.toBe(rows[victim - 1]!.data);
    const update = db.prepare('UPDATE opl_events SET data = ?, prev_hash = ?, hash = ? WHERE position = ?');
    let prev = '0'.repeat(64);
    db.transaction(() => {
      for (const r of rewritten) {
        const hash = chainHash(r, prev);
        update.run(r.data, prev, hash, r.position);
        prev = hash;
      }
    })();
    db.close();
    const rewrittenVerify = await verify(auditor, '--public-key', publicKey);
    expect(rewrittenVerify.code).toBe(1);
    expect(rewrittenVerify.report.fault).toMatchObject({ kind: 'checkpoint-mismatch', stream: 'audit' });
    expect(rewrittenVerify.report.fault!.message).toMatch(/the log was rewritten since it was signed/);

    // A checkpoint signed with another key, appended with a correct chain link: once
    // claiming the auditor's key (its signature does not hold), once naming its own key.
    const { fingerprint } = (await site.json<{ fingerprint: string }>('audit', 'public-key'));
    for (const claimed of [fingerprint, 'sha256:forged']) {
      copyFileSync(sqlitePath(site), copyPath);
      const forger = new Database(copyPath);
      const head = forger.prepare('SELECT position, hash FROM opl_events ORDER BY position DESC LIMIT 1').get() as { position: number; hash: string };
      const auditRevision = (forger.prepare("SELECT revision FROM opl_streams WHERE stream = 'audit'").get() as { revision: number }).revision;
      const other = generateKeyPairSync('ed25519');
      const time = new Date().toISOString();
      const signed = { position: head.position, hash: head.hash, time };
      const data = JSON.stringify({ ...signed, fingerprint: claimed, signature: sign(null, checkpointMessage(signed), other.privateKey).toString('base64') });
      const row = { position: head.position + 1, stream: 'audit', revision: auditRevision + 1, id: randomUUID(), type: 'CheckpointSigned', data, metadata: JSON.stringify({ actor: 'forger', recordedAt: time }) };
      forger.prepare('INSERT INTO opl_events (position, id, stream, revision, type, data, metadata, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(row.position, row.id, row.stream, row.revision, row.type, row.data, row.metadata, head.hash, chainHash(row, head.hash));
      forger.prepare("UPDATE opl_streams SET revision = ? WHERE stream = 'audit'").run(row.revision);
      forger.close();
      const forged = await verify(auditor, '--public-key', publicKey);
      expect(forged.code).toBe(1);
      expect(forged.report.fault).toMatchObject({ kind: 'checkpoint-forged', position: row.position, stream: 'audit' });
      const forgedText = await auditor.opl('audit', 'verify', '--public-key', publicKey);
      expect(forgedText.stderr).toMatch(
        claimed === fingerprint
          ? /signature does not verify with the given public key: a forged checkpoint \[checkpoint-forged\]/
          : new RegExp(`a checkpoint signed by key sha256:forged, not by the given key ${fingerprint.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\[checkpoint-forged\\]`),
      );
    }
  }, 60_000);

  it('refuses a public key file that is not one, and a log without checkpoints', async () => {
    const site = await buildSite(undefined);
    const bad = join(site.dataDir, 'bad.pem');
    writeFileSync(bad, 'not a key\n');
    const r = await site.opl('audit', 'verify', '--public-key', bad);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--public-key '.*bad\.pem': not a PEM public key/);
    const pub = join(site.dataDir, 'pub.pem');
    writeFileSync(pub, (await ok(site.opl('audit', 'public-key'))).stdout);
    const none = await verify(site, '--public-key', pub);
    expect(none.code).toBe(1);
    expect(none.report.fault?.kind).toBe('no-checkpoint');
  }, 60_000);
});
