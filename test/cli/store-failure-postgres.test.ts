import { once } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newSite, ok, type Site } from './opl.js';
import { privatePostgres, type PrivatePostgres } from './private-postgres.js';

let server: PrivatePostgres | undefined;
beforeAll(async () => {
  server = await privatePostgres();
}, 120_000);
afterAll(() => server?.remove());

const until = async (what: string, check: () => boolean | Promise<boolean>, seconds = 60) => {
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
};

/** Collects a child's stderr and its exit, bounded. */
const follow = (child: ChildProcess) => {
  const out = { stderr: '', stdout: '' };
  child.stderr!.on('data', (c: Buffer) => (out.stderr += c.toString()));
  child.stdout!.on('data', (c: Buffer) => (out.stdout += c.toString()));
  const exit = once(child, 'exit').then(([code]) => code as number);
  const exited = (seconds = 90) =>
    Promise.race([exit, new Promise<number>((_, reject) => setTimeout(() => reject(new Error(`still running: ${out.stderr}`)), seconds * 1000))]);
  return { out, exited };
};

/** Counts events in the private server's log (its own connection: the server may have restarted). */
const countEvents = async (schema: string, where: string, ...args: unknown[]): Promise<number> => {
  const client = new pg.Client({ connectionString: server!.url, options: `-c search_path=${schema}` });
  await client.connect();
  try {
    return Number((await client.query(`SELECT count(*) AS n FROM opl_events WHERE ${where}`, args)).rows[0].n);
  } finally {
    await client.end();
  }
};

const freshSite = async (schema: string, env: NodeJS.ProcessEnv = {}): Promise<Site> => {
  const url = new URL(server!.url);
  url.searchParams.set('schema', schema);
  const site = newSite(url.toString());
  Object.assign(site.env, env);
  await ok(site.opl('cluster', 'init', 'c'));
  await ok(site.opl('group', 'add', 'g'));
  return site;
};

const lines = (text: string) => text.split('\n').filter((l) => l !== '');

describe('PostgreSQL stopped under a running job', () => {
  it('the client gives up with one line (exit 3), not "failed"; after a restart the job finishes exactly once', async () => {
    const site = await freshSite('gives_up', { OPL_STORE_WAIT: '2' });
    const client = follow(site.spawn('debug', 'delay', '3'));
    await until('the job to start', () => client.out.stderr.includes('sleeping for 3s'));
    try {
      server!.stop();
      const code = await client.exited();
      expect(code).toBe(3);
      expect(lines(client.out.stderr)).toHaveLength(2);
      expect(lines(client.out.stderr)[1]).toMatch(
        /^opl: job 3 did not finish here: the store is unavailable: PostgreSQL at 127\.0\.0\.1:\d+\/postgres: .*\((ECONNREFUSED|57P01|connection-lost)\); it is not marked failed: .*'opl job watch 3'/,
      );
    } finally {
      server!.start();
    }
    expect(await countEvents('gives_up', "stream = 'job-3' AND type IN ('JobFinished', 'OpcodeFailed')")).toBe(0);
    const watched = await site.opl('job', 'watch', '3');
    expect(watched.code).toBe(0);
    const job = await site.json<{ status: string }>('job', 'info', '3');
    expect(job.status).toBe('success');
    expect(await countEvents('gives_up', "stream = 'job-3' AND type = 'JobFinished'")).toBe(1);
    expect(await countEvents('gives_up', "stream = 'job-3' AND type = 'OpcodeSucceeded'")).toBe(1);
  });

  it('a daemon reports the outage once and carries on when the server is back; a waiting client is told success', async () => {
    const site = await freshSite('daemon_waits', { OPL_STORE_WAIT: '120' });
    const daemonProcess = site.spawn('daemon');
    const daemon = follow(daemonProcess);
    try {
      await until('the daemon to lead', () => daemon.out.stderr.includes('leading'));
      // Long enough that polling `job info` (a process each time, slow on a loaded machine) sees it run.
      const submitted = await ok(site.opl('debug', 'delay', '6', '--submit'));
      const jobId = submitted.stdout.trim();
      const watcher = follow(site.spawn('job', 'watch', jobId));
      const status = async () => (await site.json<{ opcodes: { status: string }[] }>('job', 'info', jobId)).opcodes[0]!.status;
      await until('the job to start', async () => (await status()) !== 'queued');
      expect(await status()).toBe('running');
      server!.stop();
      try {
        await until('the daemon to report the outage', () => daemon.out.stderr.includes('the store is unavailable'));
      } finally {
        server!.start();
      }
      expect(await watcher.exited()).toBe(0);
      expect(watcher.out.stderr).not.toMatch(/failed/);
      await until('the daemon to report the store back', () => daemon.out.stderr.includes('the store works again'));
      const reports = lines(daemon.out.stderr).filter((l) => l.includes('the store is unavailable'));
      expect(reports).toHaveLength(1);
      expect(reports[0]).toMatch(/^opl daemon: the store is unavailable: PostgreSQL at 127\.0\.0\.1:\d+\/postgres: .*; retrying until it works again$/);
      expect((await site.json<{ status: string }>('job', 'info', jobId)).status).toBe('success');
      expect(await countEvents('daemon_waits', 'stream = $1 AND type = $2', `job-${jobId}`, 'JobFinished')).toBe(1);
      // The engine that ran it never lost it: no retry was logged into the job.
      expect(await countEvents('daemon_waits', "stream = $1 AND type = 'OpcodeLog' AND data->>'level' <> 'info'", `job-${jobId}`)).toBe(0);
    } finally {
      daemonProcess.kill('SIGTERM');
      await daemon.exited(30).catch(() => daemonProcess.kill('SIGKILL'));
    }
  });
});
