import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { caFiles, createClusterCa, issueCertificate, makeKeyAndRequest, type IssueRequest } from '../../src/adapters/pki/openssl-ca.js';
import { readFileSync } from 'node:fs';
import { nodeDirFiles } from '../../src/noded/config.js';

const NODED = fileURLToPath(new URL('../../bin/opl-noded.js', import.meta.url));

export interface TestCa {
  dir: string;
  caPem: () => string;
  /** A fresh key and a certificate for it. */
  certify: (commonName: string, kind: IssueRequest['kind'], extra?: Partial<IssueRequest>) => Promise<{ keyPem: string; certPem: string }>;
}

export const makeTestCa = async (root: string, clusterName: string): Promise<TestCa> => {
  const dir = join(root, `ca-${clusterName}`);
  await createClusterCa(dir, clusterName);
  return {
    dir,
    caPem: () => readFileSync(caFiles(dir).cert, 'utf8'),
    certify: async (commonName, kind, extra = {}) => {
      const { keyPem, csrPem } = await makeKeyAndRequest(commonName);
      return { keyPem, certPem: await issueCertificate(dir, { csrPem, commonName, kind, ...extra }) };
    },
  };
};

/** A node's directory as a joined node holds it: its own key and certificate, the authority and its revocation list. */
export const makeNodeDir = async (root: string, ca: TestCa, name: string, node: { keyPem: string; certPem: string }, storageDirs: string[] = [], driverDirs: string[] = []): Promise<string> => {
  const dir = mkdtempSync(join(root, `node-${name}-`));
  const files = nodeDirFiles(dir);
  writeFileSync(files.key, node.keyPem, { mode: 0o600 });
  writeFileSync(files.cert, node.certPem);
  writeFileSync(files.ca, ca.caPem());
  writeFileSync(files.crl, readFileSync(caFiles(ca.dir).crl, 'utf8'));
  writeFileSync(files.config, JSON.stringify({ name, storageDirs, driverDirs }));
  return dir;
};

export interface RunningNoded {
  child: ChildProcess;
  port: number;
  stderr: () => string;
  stdout: () => string;
  /** Resolves when the daemon has printed a line matching PATTERN (bounded: rejects after 20 s or at exit). */
  printed: (pattern: RegExp) => Promise<void>;
  stop: () => Promise<number | null>;
}

/** Starts the real `opl-noded` on loopback and waits for its "listening on" line (bounded). */
export const startNoded = (
  dir: string,
  args: string[] = ['--listen', '127.0.0.1:0'],
  /** wrap: a command the daemon is started through (it must exec it), e.g. one that gives it its own mounts. */
  options: { env?: NodeJS.ProcessEnv; ready?: RegExp; wrap?: string[] } = {},
): Promise<RunningNoded> =>
  new Promise((resolve, reject) => {
    const [command, ...prefix] = [...(options.wrap ?? []), process.execPath];
    const child = spawn(command!, [...prefix, NODED, '--dir', dir, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
    const ready = options.ready ?? /^listening on [^\n]*:(\d+)$/m;
    const waiters: { pattern: RegExp; done: () => void }[] = [];
    const printed = (pattern: RegExp) =>
      new Promise<void>((done, fail) => {
        if (pattern.test(out)) return done();
        const timer = setTimeout(() => fail(new Error(`opl-noded did not print ${pattern} within 20 s; stdout: ${out}; stderr: ${err}`)), 20_000);
        waiters.push({ pattern, done: () => (clearTimeout(timer), done()) });
        void exited.then(() => (clearTimeout(timer), fail(new Error(`opl-noded exited before printing ${pattern}; stderr: ${err}`))));
      });
    let out = '';
    let err = '';
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`opl-noded did not say it listens within 20 s; stderr: ${err}`));
    }, 20_000);
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      for (const w of waiters.splice(0)) if (w.pattern.test(out)) w.done(); else waiters.push(w);
      const match = ready.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({ child, port: Number(match[1]), stderr: () => err, stdout: () => out, printed, stop });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`opl-noded exited (${code}) before listening; stderr: ${err}`));
    });
  });

export const tempRoot = (): string => {
  const root = mkdtempSync(join(tmpdir(), 'opl-noded-'));
  mkdirSync(root, { recursive: true });
  return root;
};
