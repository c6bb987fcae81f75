import { parseArgs } from 'node:util';
import { NodeConfigError, readNodeDir } from './config.js';
import { NODED_PORT, startNodeDaemon } from './server.js';

const USAGE = `usage: opl-noded --dir DIR [--listen ADDRESS[:PORT]]

The opledger node daemon: serves the cluster's engine over HTTPS with mutual TLS.
DIR holds node.json ({"name": NODE, "storageDirs": [...]}), node.key, node.pem,
ca.pem and crl.pem. --listen defaults to 0.0.0.0:${NODED_PORT}. Prints one line,
"listening on ADDRESS:PORT", once it accepts calls; SIGTERM stops it.
`;

const parseListen = (text: string): { host: string; port: number } | string => {
  const match = /^(\[[0-9a-fA-F:]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(text);
  if (!match) return `--listen '${text}': expected ADDRESS or ADDRESS:PORT`;
  const port = match[2] === undefined ? NODED_PORT : Number(match[2]);
  if (port > 65535) return `--listen '${text}': port ${port} is over 65535`;
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
};

export const main = async (argv: string[], io: { out: (t: string) => void; err: (t: string) => void }): Promise<number> => {
  let values: { dir?: string; listen?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ args: argv, options: { dir: { type: 'string' }, listen: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }));
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
  try {
    const node = readNodeDir(values.dir);
    const { server, port } = await startNodeDaemon(node, listen);
    io.out(`listening on ${listen.host}:${port}\n`);
    await new Promise<void>((resolve) => {
      for (const signal of ['SIGTERM', 'SIGINT'] as const) {
        process.once(signal, () => {
          server.close(() => resolve());
          server.closeAllConnections(); // kept-alive callers would hold it open
        });
      }
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
