import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Drives the real `opl` binary (built into dist/ by `npm test`) as a child process. */
export const OPL = fileURLToPath(new URL('../../bin/opl.js', import.meta.url));

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Site {
  dataDir: string;
  env: NodeJS.ProcessEnv;
  opl(...args: string[]): Promise<Result>;
  json<T = unknown>(...args: string[]): Promise<T>;
  spawn(...args: string[]): ChildProcess;
}

export const newSite = (store?: string): Site => {
  const dataDir = mkdtempSync(join(tmpdir(), 'opl-e2e-'));
  const env: NodeJS.ProcessEnv = { ...process.env, OPL_DATA_DIR: dataDir, OPL_ACTOR: 'e2e-tester' };
  if (store) env.OPL_STORE = store;
  else delete env.OPL_STORE;
  const opl = (...args: string[]) =>
    new Promise<Result>((resolve) => {
      execFile(process.execPath, [OPL, ...args], { env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  return {
    dataDir,
    env,
    opl,
    json: async <T>(...args: string[]) => {
      const r = await opl(...args, '--output', 'json');
      if (r.code !== 0) throw new Error(`opl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
      return JSON.parse(r.stdout) as T;
    },
    spawn: (...args: string[]) => spawn(process.execPath, [OPL, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] }),
  };
};

export const ok = async (promise: Promise<Result>): Promise<Result> => {
  const r = await promise;
  if (r.code !== 0) throw new Error(`expected success, got exit ${r.code}: ${r.stderr}${r.stdout}`);
  return r;
};

/**
 * A listing's rows without what the nodes reported just now (`status`, `unreachable`):
 * the recorded view, which a replay of the log must equal.
 */
export const recorded = <T extends object>(rows: T[]): Omit<T, 'status' | 'unreachable'>[] =>
  rows.map((row) => {
    const { status: _status, unreachable: _unreachable, ...rest } = row as T & { status?: unknown; unreachable?: unknown };
    return rest;
  });
