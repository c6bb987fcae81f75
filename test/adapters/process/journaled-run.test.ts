import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runJournaled } from '../../../src/adapters/process/journaled-run.js';

const FIXTURES = resolve(import.meta.dirname, '../../fixtures');
const COUNTED = join(FIXTURES, 'drivers/counted/create');
const RUNAWAY = join(FIXTURES, 'drivers/runaway/create');

const until = async (what: string, check: () => boolean, seconds = 20) => {
  const deadline = Date.now() + seconds * 1000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

const setup = () => {
  const work = mkdtempSync(join(tmpdir(), 'opl-journal-'));
  const pool = join(work, 'pool');
  mkdirSync(pool);
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', EXTP_DIR: pool, INSTANCE_NAME: 'web', DISK_INDEX: '0' };
  const journal = join(work, 'calls');
  const calls = () => (existsSync(join(pool, 'calls')) ? readFileSync(join(pool, 'calls'), 'utf8').trim().split('\n') : []);
  const options = (callId: string, timeoutMs = 20_000) => ({ env, cwd: pool, timeoutMs, outputLimit: 4096, journal: { dir: journal, callId } });
  return { pool, env, journal, calls, options };
};

/** Whether a process still runs (a zombie does not). */
const running = (pid: number): boolean => {
  try {
    const state = execFileSync('ps', ['-o', 'stat=', '-p', String(pid)]).toString().trim();
    return state !== '' && !state.startsWith('Z');
  } catch {
    return false; // ps exits 1 when there is no such process
  }
};

/** Starts the stand-in engine on a held `counted` call and SIGKILLs it once the driver runs. */
const crashMidCall = async (s: ReturnType<typeof setup>, callId: string, timeoutMs: number) => {
  writeFileSync(join(s.pool, 'hold'), '');
  const engine = spawn(process.execPath, [join(FIXTURES, 'journaled-caller.mjs'), COUNTED, s.journal, callId, JSON.stringify(s.env), String(timeoutMs)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let printed = '';
  engine.stdout.on('data', (c: Buffer) => (printed += c.toString()));
  const gone = new Promise((r) => engine.once('exit', r));
  await until('the driver to run and its start to be recorded', () => {
    if (engine.exitCode !== null) throw new Error('the stand-in engine exited before the driver ran (is dist/ built?)');
    return s.calls().length === 1 && existsSync(join(s.journal, callId, 'started'));
  });
  engine.kill('SIGKILL');
  await gone;
  expect(printed).toBe(''); // the engine died before it learned anything
  const driverPid = Number(s.calls()[0]!.split(' ').at(-1));
  expect(running(driverPid)).toBe(true);
  return driverPid;
};

describe('runJournaled', () => {
  it('returns the run and keeps its result in the journal', async () => {
    const s = setup();
    const run = await runJournaled(COUNTED, s.options('call-1'));
    expect(run).toMatchObject({ exitCode: 0, timedOut: false, stderr: 'counted: made vol-web-0\n' });
    expect(run.stdout).toMatch(/^vol-web-0-\d+\n$/);
    const entry = join(s.journal, 'call-1');
    expect(readFileSync(join(entry, 'exit'), 'utf8')).toBe('0\n');
    expect(readFileSync(join(entry, 'stdout'), 'utf8')).toBe(run.stdout);
    expect(JSON.parse(readFileSync(join(entry, 'started'), 'utf8'))).toMatchObject({ program: COUNTED, timeoutMs: 20_000 });
  });

  it('answers a second call with the same id from the journal, without running the program again', async () => {
    const s = setup();
    const first = await runJournaled(COUNTED, s.options('call-2'));
    const second = await runJournaled(COUNTED, s.options('call-2'));
    expect(second).toMatchObject({ exitCode: 0, stdout: first.stdout, stderr: first.stderr, timedOut: false });
    expect(s.calls()).toHaveLength(1);
    const other = await runJournaled(COUNTED, s.options('call-3'));
    expect(other.stdout).not.toBe(first.stdout);
    expect(s.calls()).toHaveLength(2);
    await expect(runJournaled(RUNAWAY, s.options('call-2'))).rejects.toThrow(/one call id was given to two calls/);
  });

  it('after the caller is SIGKILLed mid-call, a retry waits for the running driver and gets its output', async () => {
    const s = setup();
    const driverPid = await crashMidCall(s, 'call-crash', 60_000);
    const retry = runJournaled(COUNTED, s.options('call-crash'));
    expect(existsSync(join(s.journal, 'call-crash', 'exit'))).toBe(false);
    rmSync(join(s.pool, 'hold'));
    const run = await retry;
    expect(run).toMatchObject({ exitCode: 0, timedOut: false, stdout: `vol-web-0-${driverPid}\n` });
    expect(s.calls()).toEqual([`create web 0 ${driverPid}`]);
    expect((await runJournaled(COUNTED, s.options('call-crash'))).stdout).toBe(run.stdout);
  });

  it('after the caller is SIGKILLed, a retry past the call\'s deadline kills the driver and reports a timeout', async () => {
    const s = setup();
    const driverPid = await crashMidCall(s, 'call-late', 5000);
    const run = await runJournaled(COUNTED, s.options('call-late'));
    expect(run).toMatchObject({ exitCode: null, timedOut: true });
    expect(running(driverPid)).toBe(false);
    expect(s.calls()).toHaveLength(1);
    expect(readFileSync(join(s.journal, 'call-late', 'exit'), 'utf8')).toBe('timeout\n');
  });

  it('at the timeout kills the driver and a grandchild that left for a session of its own', async () => {
    const s = setup();
    const call = runJournaled(RUNAWAY, s.options('call-runaway', 5000));
    await until('both processes to run', () => existsSync(join(s.pool, 'driver')));
    const driver = Number(readFileSync(join(s.pool, 'driver'), 'utf8'));
    const grandchild = Number(readFileSync(join(s.pool, 'grandchild'), 'utf8'));
    const [driverSession, grandchildSession] = [driver, grandchild].map((pid) => execFileSync('ps', ['-o', 'sid=', '-p', String(pid)]).toString().trim());
    expect(grandchildSession).not.toBe(driverSession); // out of the group and session a plain group kill reaches
    const run = await call;
    expect(run).toMatchObject({ exitCode: null, timedOut: true });
    expect(running(driver)).toBe(false);
    expect(running(grandchild)).toBe(false);
  });

  it('runs a call again when it neither ended nor runs any more (its machine rebooted)', async () => {
    const s = setup();
    // Since the reboot, the recorded pid leads some unrelated process group, which must be left alone.
    const stranger = spawn('sleep', ['1000'], { detached: true, stdio: 'ignore' });
    try {
      const entry = join(s.journal, 'call-rebooted');
      mkdirSync(entry, { recursive: true });
      writeFileSync(join(entry, 'stderr'), 'from before the reboot\n');
      const pid = stranger.pid!;
      const started = { startedAt: Date.now() - 60_000, pid, pgid: pid, timeoutMs: 20_000, program: COUNTED, bootId: 'an-earlier-boot' };
      writeFileSync(join(entry, 'started'), JSON.stringify(started));
      const run = await runJournaled(COUNTED, s.options('call-rebooted'));
      expect(run).toMatchObject({ exitCode: 0, stderr: 'counted: made vol-web-0\n' });
      expect(s.calls()).toHaveLength(1);
      expect(running(pid)).toBe(true);
      const kept = readdirSync(s.journal).filter((name) => name.startsWith('.call-rebooted.attempt-'));
      expect(kept).toHaveLength(1);
      expect(readFileSync(join(s.journal, kept[0]!, 'stderr'), 'utf8')).toBe('from before the reboot\n');
    } finally {
      stranger.kill('SIGKILL');
    }
  });

  it('refuses call ids that could leave the journal or are not ids', async () => {
    const s = setup();
    for (const callId of ['', '..', '.hidden', '../escape', 'a/b', 'x'.repeat(101), 'spa ce']) {
      await expect(runJournaled(COUNTED, s.options(callId))).rejects.toThrow(/is not 1 to 100 letters/);
    }
    expect(s.calls()).toEqual([]);
  });

  it('prunes calls older than a week from a journal it opens', async () => {
    const s = setup();
    const old = join(s.journal, 'call-old');
    const recent = join(s.journal, 'call-recent');
    mkdirSync(old, { recursive: true });
    mkdirSync(recent);
    const eightDaysAgo = new Date(Date.now() - 8 * 24 * 3600 * 1000);
    utimesSync(old, eightDaysAgo, eightDaysAgo);
    await runJournaled(COUNTED, s.options('call-new'));
    expect(existsSync(old)).toBe(false);
    expect(existsSync(recent)).toBe(true);
  });
});
