import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { startNoded, type RunningNoded } from '../noded/cluster-pki.js';
import { ok, type Site } from './opl.js';

/**
 * A real `opl-noded` in a directory of its own under ROOT, joined to the site's cluster
 * as NAME with a join token and added to GROUP at its loopback address. `args`: the
 * daemon's own (default `--name NAME`); `prepare`: what its directory holds before it
 * starts (a node.json).
 */
export const joinNode = async (
  site: Site,
  root: string,
  name: string,
  options: { args?: string[]; prepare?: (dir: string) => void; group?: string } = {},
): Promise<{ daemon: RunningNoded; dir: string }> => {
  const token = (await ok(site.opl('node', 'token', name))).stdout.trim();
  const dir = mkdtempSync(join(root, `${name}-`));
  options.prepare?.(dir);
  const daemon = await startNoded(dir, ['--listen', '127.0.0.1:0', ...(options.args ?? ['--name', name])], {
    env: { OPL_JOIN_TOKEN: token },
    ready: /^waiting to join as node \S+ at [^\n]*:(\d+)$/m,
  });
  await ok(site.opl('node', 'add', name, '--group', options.group ?? 'g1', '--address', `127.0.0.1:${daemon.port}`));
  return { daemon, dir };
};
