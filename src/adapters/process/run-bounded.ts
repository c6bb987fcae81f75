import { spawn } from 'node:child_process';

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

/**
 * Runs a program we did not write: in its own process group, so that at the timeout
 * everything it started is killed with it; output bounded per stream. Never throws:
 * a program that cannot start is reported as exit null with the reason on stderr.
 */
export const runBounded = (program: string, options: BoundedRunOptions): Promise<BoundedRun> =>
  new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(program, [...(options.args ?? [])], {
      ...(options.cwd !== undefined && { cwd: options.cwd }),
      ...(options.env !== undefined && { env: options.env }),
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const take = (current: string, chunk: Buffer) =>
      current.length >= options.outputLimit ? current : current + chunk.toString('utf8').slice(0, options.outputLimit - current.length);
    child.stdout!.on('data', (c: Buffer) => (stdout = take(stdout, c)));
    child.stderr!.on('data', (c: Buffer) => (stderr = take(stderr, c)));
    if (options.input !== undefined) {
      child.stdin!.on('error', () => undefined); // a program may exit without reading its input
      child.stdin!.end(options.input);
    }
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, options.timeoutMs);
    const finish = (exitCode: number | null, error?: Error) => {
      clearTimeout(timer);
      resolve({
        exitCode,
        stdout,
        stderr: error ? `${stderr}${error.message}` : stderr,
        durationMs: Math.round(performance.now() - started),
        timedOut,
      });
    };
    child.on('error', (error) => finish(null, error));
    child.on('close', (code) => finish(timedOut ? null : code));
  });
