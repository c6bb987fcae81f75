import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

/**
 * A PostgreSQL server of the test's own, on a free port, that the test may stop and
 * start: the shared one on 5432 serves every other suite and must never be stopped.
 */
export interface PrivatePostgres {
  url: string;
  start(): void;
  stop(): void;
  remove(): void;
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

const binDir = (): string => {
  const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) throw new Error('no PostgreSQL under /usr/lib/postgresql: run npm run test:setup');
  return join('/usr/lib/postgresql', versions[0]!, 'bin');
};

export const privatePostgres = async (): Promise<PrivatePostgres> => {
  const bin = binDir();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'opl-pg-'));
  const data = join(dir, 'data');
  const asPostgres = (program: string, ...args: string[]) => {
    // initdb and the server refuse to run as root.
    const command = userInfo().uid === 0 ? ['runuser', ['-u', 'postgres', '--', join(bin, program), ...args]] : [join(bin, program), args];
    execFileSync(command[0] as string, command[1] as string[], { stdio: 'pipe', timeout: 60_000 });
  };
  const pgUid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const pgGid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  if (userInfo().uid === 0) chownSync(dir, pgUid, pgGid);
  asPostgres('initdb', '-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync');
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const start = () => asPostgres('pg_ctl', '-D', data, '-o', options, '-l', join(dir, 'log'), '-w', '-t', '60', 'start');
  start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start,
    stop: () => asPostgres('pg_ctl', '-D', data, '-m', 'fast', '-w', '-t', '60', 'stop'),
    remove: () => {
      try {
        asPostgres('pg_ctl', '-D', data, '-m', 'immediate', '-w', '-t', '60', 'stop');
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
};
