import Database from 'better-sqlite3';
import { execFileSync, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fillUp, mountSmallDisk } from '../fixtures/small-disk.js';
import { newSite, ok, OPL, type Site } from './opl.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      cleanup();
    } catch {
      // go on with the rest: a mount left behind is worse than a temp dir
    }
  }
});

/** A small tmpfs of its own, removed after the test. */
const tmpfs = (megabytes: number): string => {
  const { dir, remove } = mountSmallDisk(megabytes);
  cleanups.push(remove);
  return dir;
};

const siteIn = (dataDir: string, env: NodeJS.ProcessEnv = {}): Site => {
  const site = newSite();
  rmSync(site.dataDir, { recursive: true, force: true });
  Object.assign(site.env, { OPL_DATA_DIR: dataDir, ...env });
  return { ...site, dataDir };
};

const until = async (what: string, check: () => boolean | Promise<boolean>, seconds = 30) => {
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
};

const count = (db: string, sql: string, ...args: unknown[]): number => {
  const handle = new Database(db, { readonly: true });
  try {
    return handle.prepare(sql).pluck().get(...args) as number;
  } finally {
    handle.close();
  }
};

const lines = (text: string) => text.split('\n').filter((l) => l !== '');

describe('a store that fails under a running job (SQLite)', () => {
  it('a full disk: the client says so in one line and exits 3, no hot loop; once space is freed the job finishes once', async () => {
    const dir = tmpfs(4);
    const site = siteIn(dir, { OPL_STORE_WAIT: '1' });
    await ok(site.opl('cluster', 'init', 'c'));
    await ok(site.opl('group', 'add', 'g'));
    const child = site.spawn('debug', 'delay', '3');
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = once(child, 'exit');
    await until('the job to start sleeping', () => stderr.includes('sleeping for 3s'));
    const fill = fillUp(dir);
    const [code] = (await Promise.race([exited, new Promise((_, reject) => setTimeout(() => reject(new Error(`client still running: ${stderr}`)), 60_000))])) as [number];

    expect(code).toBe(3);
    // Bounded output: the job's own log line and the one line about the store (it used to be 150,000).
    expect(lines(stderr)).toHaveLength(2);
    expect(lines(stderr)[1]).toMatch(
      /^opl: job 3 did not finish here: the store refuses writes: .*opledger\.sqlite: the disk \(or file system\) holding it is full \(SQLITE_FULL\); it is not marked failed: .*'opl job watch 3'/,
    );
    const store = join(dir, 'opledger.sqlite');
    expect(count(store, "SELECT count(*) FROM opl_events WHERE stream = 'job-3' AND type IN ('OpcodeFailed', 'JobFinished')")).toBe(0);

    rmSync(fill);
    const watched = await site.opl('job', 'watch', '3');
    expect(watched.code).toBe(0);
    const job = await site.json<{ status: string; opcodes: { status: string; log: { level: string; message: string }[] }[] }>('job', 'info', '3');
    expect(job.status).toBe('success');
    expect(count(store, "SELECT count(*) FROM opl_events WHERE stream = 'job-3' AND type = 'JobFinished'")).toBe(1);
    expect(count(store, "SELECT count(*) FROM opl_events WHERE type = 'OpcodeFailed'")).toBe(0);
    // One warning that the engine was lost, not one per retry.
    expect(job.opcodes[0]!.log.filter((l) => l.level === 'warning')).toHaveLength(1);
  });

  it('a full disk before the job is submitted: one line, nothing submitted', async () => {
    const dir = tmpfs(4);
    const site = siteIn(dir, { OPL_STORE_WAIT: '0.5' });
    await ok(site.opl('cluster', 'init', 'c'));
    const store = join(dir, 'opledger.sqlite');
    const before = count(store, 'SELECT count(*) FROM opl_events');
    fillUp(dir);
    const r = await site.opl('group', 'add', 'g');
    expect(r.code).toBe(3);
    expect(lines(r.stderr)).toEqual([expect.stringMatching(/^opl: group add: the store refuses writes: .*is full; nothing was submitted \(SQLITE_FULL\)$/)]);
    expect(count(store, 'SELECT count(*) FROM opl_events')).toBe(before);
  });
});

describe('data dir rules', () => {
  it('a data dir that does not exist is refused, not made, by every command but cluster init', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'opl-nodir-'));
    cleanups.push(() => rmSync(parent, { recursive: true, force: true }));
    const missing = join(parent, 'no', 'such', 'dir');
    const site = siteIn(missing);
    for (const args of [['instance', 'list'], ['job', 'list'], ['group', 'add', 'g'], ['daemon']]) {
      const r = await site.opl(...args);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`opl: data dir ${missing} does not exist: give the right --data-dir (or OPL_DATA_DIR), or run 'opl cluster init NAME' to make a cluster there\n`);
    }
    expect(readdirSync(parent)).toEqual([]);
    const viaFlag = await site.opl('--data-dir', join(parent, 'other'), 'instance', 'list');
    expect(viaFlag.code).toBe(1);
    expect(readdirSync(parent)).toEqual([]);
    await ok(site.opl('cluster', 'init', 'c'));
    expect(existsSync(join(missing, 'opledger.sqlite'))).toBe(true);
  });

  it('an existing data dir without a store is refused and left empty', async () => {
    const site = newSite();
    const r = await site.opl('instance', 'list');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`opl: no opledger store at ${join(site.dataDir, 'opledger.sqlite')}: run 'opl cluster init NAME' to make one there, or give the right --data-dir (or OPL_DATA_DIR, or --store)\n`);
    expect(readdirSync(site.dataDir)).toEqual([]);
  });

  it('a data dir on a read-only file system is named as such, for reads and writes alike', async () => {
    const dir = tmpfs(4);
    const site = siteIn(dir);
    await ok(site.opl('cluster', 'init', 'c'));
    await ok(site.opl('group', 'add', 'g'));
    execFileSync('mount', ['-o', 'remount,ro', dir]);
    cleanups.push(() => execFileSync('mount', ['-o', 'remount,rw', dir]));
    for (const args of [['group', 'list'], ['group', 'add', 'h']]) {
      const r = await site.opl(...args);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        `opl: data dir ${dir} is on a read-only file system (EROFS): opl writes beside its SQLite store even to read it (the -wal and -shm files); mount it read-write or fix its permissions, or read a copy\n`,
      );
    }
    execFileSync('mount', ['-o', 'remount,rw', dir]);
    expect((await ok(site.opl('group', 'list', '--no-headers', '-o', 'name'))).stdout).toBe('g\n');
  });
});

describe('data dir permissions', () => {
  it('a data dir this user may not write is named as such (as nobody; root writes anywhere)', async () => {
    const site = newSite();
    cleanups.push(() => rmSync(site.dataDir, { recursive: true, force: true }));
    await ok(site.opl('cluster', 'init', 'c'));
    chmodSync(site.dataDir, 0o755);
    const r = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, OPL, 'group', 'list'], { env: site.env, encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      `opl: data dir ${site.dataDir} is not writable by this user (EACCES): opl writes beside its SQLite store even to read it (the -wal and -shm files); mount it read-write or fix its permissions, or read a copy\n`,
    );
  });
});

describe('opl demo --data-dir', () => {
  it('refuses a directory it did not make and leaves it as it was', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opl-foreign-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'precious'), 'keep me\n');
    mkdirSync(join(dir, 'sub'));
    const r = await newSite().opl('demo', '--data-dir', dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`opl: demo: --data-dir ${dir} is not empty and was not made by 'opl demo' (no .opl-demo in it): give a new or empty directory\n`);
    expect(readdirSync(dir).sort()).toEqual(['precious', 'sub']);
    expect(readFileSync(join(dir, 'precious'), 'utf8')).toBe('keep me\n');
  });

  it('runs again in a directory it made, emptying only that directory', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'opl-demo-again-'));
    cleanups.push(() => rmSync(parent, { recursive: true, force: true }));
    const dir = join(parent, 'tour');
    writeFileSync(join(parent, 'beside'), 'not the demo\'s\n');
    const site = newSite();
    await ok(site.opl('demo', '--data-dir', dir));
    const jobs = () => count(join(dir, 'opledger.sqlite'), "SELECT count(*) FROM opl_events WHERE type = 'JobSubmitted'");
    const firstRun = jobs();
    writeFileSync(join(dir, 'left-over'), 'x');
    await ok(site.opl('demo', '--data-dir', dir));
    expect(existsSync(join(dir, 'left-over'))).toBe(false);
    expect(existsSync(join(dir, '.opl-demo'))).toBe(true);
    expect(readFileSync(join(parent, 'beside'), 'utf8')).toBe('not the demo\'s\n');
    // The second run's log starts afresh instead of adding to the first one's.
    expect(firstRun).toBeGreaterThan(10);
    expect(jobs()).toBe(firstRun);
  });
});

/** Frame boundaries of a write-ahead log: [end of each commit frame], per SQLite's file format. */
const commitEnds = (wal: Buffer): number[] => {
  const pageSize = wal.readUInt32BE(8);
  const frame = 24 + pageSize;
  const ends: number[] = [];
  for (let at = 32; at + frame <= wal.length; at += frame) if (wal.readUInt32BE(at + 4) !== 0) ends.push(at + frame);
  return ends;
};

describe('a write-ahead log that lost committed events', () => {
  it('is refused at open with one line, by readers and writers, and no job id is reused', async () => {
    const site = newSite();
    await ok(site.opl('cluster', 'init', 'c'));
    const store = join(site.dataDir, 'opledger.sqlite');
    // Held open so the commands' close does not checkpoint the log into the database file.
    const holder = new Database(store);
    cleanups.push(() => holder.close());
    holder.pragma('wal_autocheckpoint = 0');
    holder.prepare('SELECT count(*) FROM opl_events').get(); // a connection opens the log only when it first reads
    for (let i = 0; i < 3; i++) await ok(site.opl('debug', 'delay', '0'));
    const wal = readFileSync(`${store}-wal`);
    const ends = commitEnds(wal);
    expect(ends.length).toBeGreaterThan(3);

    const copyOf = (name: string, walBytes: number): Site => {
      const dir = join(mkdtempSync(join(tmpdir(), `opl-${name}-`)));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      for (const suffix of ['', '-wal', '-head']) copyFileSync(`${store}${suffix}`, join(dir, `opledger.sqlite${suffix}`));
      truncateSync(join(dir, 'opledger.sqlite-wal'), walBytes);
      const copy = siteIn(dir);
      return copy;
    };
    const whole = copyOf('whole', wal.length);
    expect((await ok(whole.opl('job', 'list', '--no-headers', '-o', 'id'))).stdout).toBe('1\n2\n3\n4\n');

    // Cut at a frame boundary three commits back (the last ones may be lease writes): job 4's end is gone.
    const cut = copyOf('cut', ends[ends.length - 4]!);
    const head = readFileSync(join(cut.dataDir, 'opledger.sqlite-head'), 'utf8').split(' ');
    for (const args of [['job', 'list'], ['debug', 'delay', '0']]) {
      const r = await cut.opl(...args);
      expect(r.code).toBe(1);
      expect(lines(r.stderr)).toHaveLength(1);
      expect(r.stderr).toMatch(
        new RegExp(`^opl: the log at ${join(cut.dataDir, 'opledger.sqlite')} ends at position \\d+ but position ${head[2]} \\(event ${head[3]}\\) was committed: its write-ahead log was truncated or damaged, or events were deleted \\('opl audit verify' names what was lost\\); restore it from a backup \\(or, to accept the loss, remove .*-head\\)\\n$`),
      );
    }
    rmSync(join(cut.dataDir, 'opledger.sqlite-head'));
    const accepted = await ok(cut.opl('job', 'list', '--no-headers', '-o', 'id,status'));
    expect(lines(accepted.stdout).at(-1)).not.toMatch(/success/);
  });
});
