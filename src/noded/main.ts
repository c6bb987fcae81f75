import { existsSync, mkdirSync } from 'node:fs';
import type { Server } from 'node:https';
import { parseArgs } from 'node:util';
import { isJoinToken } from '../domain/join-proof.js';
import { NodeConfigError, hasJoined, nodeDirFiles, readNodeConfig, readNodeDir, writeNodeConfig } from './config.js';
import { startJoinServer } from './join-server.js';
import { NODED_PORT, startNodeDaemon } from './server.js';

const USAGE = `usage: opl-noded --dir DIR [--listen ADDRESS[:PORT]] [--join TOKEN [--name NODE [--storage-dir PATH]... [--driver-dir PATH]...]]

The opledger node daemon: serves the cluster's engine over HTTPS with mutual TLS.
DIR holds node.json ({"name": NODE, "storageDirs": [...], "driverDirs": [...], and for
kvm guests "kvm": {"kernel": PATH, "initrd": PATH, "append": TEXT,
"shutdownTimeoutSeconds": N (at most 150)}}), node.key, node.pem, ca.pem and crl.pem. With kvm set,
the daemon boots that kernel under KVM once at start-up and uses KVM only if it gets
to init, TCG otherwise, and says which. --listen defaults to 0.0.0.0:${NODED_PORT}. Prints one line,
"listening on ADDRESS:PORT", once it accepts calls; SIGTERM stops it.

To join a cluster, run 'opl node token NODE' on the cluster and start the daemon
with that token (--join TOKEN, or OPL_JOIN_TOKEN in the environment); --name NODE
writes node.json if DIR has none, with each --storage-dir PATH in its storageDirs:
the directories the node reports free space of and the only ones it keeps
sharedfile disks in (as Ganeti's file-storage-paths); give the cluster's shared
file storage directory there. Each --driver-dir PATH goes in its driverDirs: where
the node looks for the storage drivers of ext pools, by the pool's driver name,
before /usr/share/ganeti/extstorage (the engine names a driver, never a path).
It prints "waiting to join as node NODE at
ADDRESS:PORT"; then 'opl node add NODE --address ...' on the cluster certifies the
key the node made for itself (it never leaves DIR), and the daemon prints
"joined; listening on ADDRESS:PORT" and serves as above.
`;

const parseListen = (text: string): { host: string; port: number } | string => {
  const match = /^(\[[0-9a-fA-F:]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(text);
  if (!match) return `--listen '${text}': expected ADDRESS or ADDRESS:PORT`;
  const port = match[2] === undefined ? NODED_PORT : Number(match[2]);
  if (port > 65535) return `--listen '${text}': port ${port} is over 65535`;
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
};

type Io = { out: (t: string) => void; err: (t: string) => void; env?: NodeJS.ProcessEnv };
type Values = { dir?: string; listen?: string; join?: string; name?: string; 'storage-dir'?: string[]; 'driver-dir'?: string[]; help?: boolean };

/** Starts the daemon, joining first when DIR has no certificate yet; returns the server serving now. */
const start = async (values: Values & { dir: string }, listen: { host: string; port: number }, io: Io): Promise<() => Server> => {
  const serve = (port: number) => startNodeDaemon(readNodeDir(values.dir), { host: listen.host, port });
  const token = values.join ?? io.env?.OPL_JOIN_TOKEN;
  if (hasJoined(values.dir)) {
    if (token !== undefined) throw new NodeConfigError(`${values.dir} holds a node that has joined a cluster already (${nodeDirFiles(values.dir).cert}); start it without --join, or empty the directory to join again`);
    for (const [flag, field] of [['storage-dir', 'storageDirs'], ['driver-dir', 'driverDirs']] as const) {
      if (values[flag] !== undefined) throw new NodeConfigError(`--${flag}: ${values.dir} holds a node that has joined already; give its directories in ${nodeDirFiles(values.dir).config} (${field})`);
    }
    const { server, port, kvm } = await serve(listen.port);
    io.out(`listening on ${listen.host}:${port}\n`);
    void kvm?.then((choice) => io.out(`kvm guests run under ${choice.accel.toUpperCase()} (${choice.why})\n`));
    return () => server;
  }
  if (token === undefined) throw new NodeConfigError(`${values.dir} holds no certificate of a cluster: join one with --join TOKEN (made by 'opl node token NODE' on the cluster)`);
  if (!isJoinToken(token)) throw new NodeConfigError("--join: not a join token (expected 'opl1.' and 43 letters, digits, '-' or '_', as 'opl node token' prints it)");
  if (!existsSync(values.dir)) mkdirSync(values.dir, { recursive: true, mode: 0o700 });
  const storageDirs = values['storage-dir'];
  const driverDirs = values['driver-dir'];
  const fresh = values.name !== undefined && !existsSync(nodeDirFiles(values.dir).config);
  for (const [flag, field, given] of [['storage-dir', 'storageDirs', storageDirs], ['driver-dir', 'driverDirs', driverDirs]] as const) {
    if (given !== undefined && !fresh) throw new NodeConfigError(`--${flag}: ${nodeDirFiles(values.dir).config} is written already (or --name is missing); give the directories in its ${field}`);
  }
  const config = fresh ? writeNodeConfig(values.dir, { name: values.name!, ...(storageDirs && { storageDirs }), ...(driverDirs && { driverDirs }) }) : readNodeConfig(values.dir);
  if (values.name !== undefined && values.name !== config.name) throw new NodeConfigError(`--name ${values.name}: ${nodeDirFiles(values.dir).config} names this node '${config.name}'`);
  const joining = await startJoinServer({
    dir: values.dir,
    config,
    token,
    listen,
    serve: async (port) => {
      const { server, kvm } = await serve(port);
      void kvm?.then((choice) => io.out(`kvm guests run under ${choice.accel.toUpperCase()} (${choice.why})\n`));
      return server;
    },
  });
  io.out(`waiting to join as node ${config.name} at ${listen.host}:${joining.port}\n`);
  void joining.joined.then(() => io.out(`joined; listening on ${listen.host}:${joining.port}\n`));
  return joining.current;
};

export const main = async (argv: string[], io: Io): Promise<number> => {
  let values: Values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { dir: { type: 'string' }, listen: { type: 'string' }, join: { type: 'string' }, name: { type: 'string' }, 'storage-dir': { type: 'string', multiple: true }, 'driver-dir': { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (error) {
    io.err(`opl-noded: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  if (!values.dir) {
    io.err(`opl-noded: --dir DIR is required\n${USAGE}`);
    return 2;
  }
  const listen = parseListen(values.listen ?? `0.0.0.0:${NODED_PORT}`);
  if (typeof listen === 'string') {
    io.err(`opl-noded: ${listen}\n`);
    return 2;
  }
  // Listened for before anything starts: a SIGTERM that comes right after "listening on"
  // must stop the daemon cleanly (ending its KVM probe), not kill it outright.
  const stopAsked = new Promise<void>((resolve) => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => resolve());
  });
  try {
    const current = await start({ ...values, dir: values.dir }, listen, io);
    await stopAsked;
    await new Promise<void>((resolve) => {
      const server = current();
      server.close(() => resolve());
      server.closeAllConnections(); // kept-alive callers would hold it open
    });
    return 0;
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (error instanceof NodeConfigError) io.err(`opl-noded: ${e.message}\n`);
    else if (e.code === 'EADDRINUSE' || e.code === 'EADDRNOTAVAIL' || e.code === 'EACCES') io.err(`opl-noded: cannot listen on ${listen.host}:${listen.port}: ${e.code}\n`);
    else io.err(`opl-noded: ${e.message}\n`);
    return 1;
  }
};
