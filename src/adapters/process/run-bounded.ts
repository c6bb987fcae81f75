import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { endContainment, ENTER_CGROUP, markerEnv, openContainment } from './containment.js';

export interface BoundedRun {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
}

export interface BoundedRunOptions {
  args?: readonly string[];
  /** The whole environment of the child; absent: this process's. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to stdin, which is then closed; absent: stdin is not connected. */
  input?: string;
  timeoutMs: number;
  /** Per stream; output beyond it is dropped. */
  outputLimit: number;
}

/** Between SIGTERM and SIGKILL for what a program left running. */
const TERM_GRACE_MS = 2000;
/** How long, once its processes are ended, the output pipes may take to report their end. */
const DRAIN_MS = 2000;

const cannotStart = (program: string): string | undefined => {
  if (!program.includes('/')) return undefined;
  try {
    // A directory passes X_OK; exec would refuse it in the shell's words.
    if (statSync(program).isDirectory()) return `spawn ${program} EISDIR`;
    accessSync(program, constants.X_OK);
    return undefined;
  } catch (error) {
    return `spawn ${program} ${(error as NodeJS.ErrnoException).code ?? 'failed'}`;
  }
};

/**
 * Runs a program we did not write, in a session and a containment of its own (see
 * containment.ts), output bounded per stream. Its answer is taken when *it* exits, not
 * when its stdout closes: a child it left holding the pipe does not turn an answer
 * into a timeout. Then everything it left behind, `setsid` grandchildren included, is
 * ended; at the timeout, everything is killed. Never throws: a program that cannot
 * start is reported as exit null with the reason on stderr.
 */
export const runBounded = async (program: string, options: BoundedRunOptions): Promise<BoundedRun> => {
  const started = performance.now();
  const problem = cannotStart(program);
  if (problem) return { exitCode: null, stdout: '', stderr: problem, durationMs: 0, timedOut: false };
  const containment = await openContainment();
  const env = { ...(options.env ?? process.env), ...markerEnv(containment) };
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', `${ENTER_CGROUP}; exec "$@"`, 'opl-run', containment.cgroup ?? '', program, ...(options.args ?? [])], {
      ...(options.cwd !== undefined && { cwd: options.cwd }),
      env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let settled = false;
    const take = (current: string, chunk: Buffer) =>
      current.length >= options.outputLimit ? current : current + chunk.toString('utf8').slice(0, options.outputLimit - current.length);
    child.stdout!.on('data', (c: Buffer) => (stdout = take(stdout, c)));
    child.stderr!.on('data', (c: Buffer) => (stderr = take(stderr, c)));
    const streamsClosed = Promise.all([child.stdout!, child.stderr!].map((s) => new Promise<void>((r) => (s.closed ? r() : s.once('close', () => r())))));
    if (options.input !== undefined) {
      child.stdin!.on('error', () => undefined); // a program may exit without reading its input
      child.stdin!.end(options.input);
    }
    const finish = async (exitCode: number | null, error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // What it left behind goes now; their end closes the pipes they held.
      await endContainment(containment, timedOut ? 0 : TERM_GRACE_MS);
      let drainTimer: NodeJS.Timeout | undefined;
      await Promise.race([streamsClosed, new Promise((r) => (drainTimer = setTimeout(r, DRAIN_MS)))]);
      clearTimeout(drainTimer);
      child.stdout!.destroy();
      child.stderr!.destroy();
      resolve({
        exitCode,
        stdout,
        stderr: error ? `${stderr}${error.message}` : stderr,
        durationMs: Math.round(performance.now() - started),
        timedOut,
      });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, options.timeoutMs);
    child.on('error', (error) => void finish(null, error));
    child.on('exit', (code) => void finish(timedOut ? null : code));
  });
};
