import { existsSync } from 'node:fs';
import { issueJoinToken } from '../../adapters/pki/join-tokens.js';
import { caDirOf, caFiles } from '../../adapters/pki/openssl-ca.js';
import { nodeInfos } from '../../projections/read-models.js';
import type { Command } from '../command.js';
import { json } from '../render.js';
import { viewCommand } from '../view-command.js';

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const MAX_TTL_MS = 7 * UNITS.d!;

/** `30m`, `1h`, `2d` (s, m, h, d); a bare number is minutes. */
const parseTtl = (text: string): number | string => {
  const match = /^(\d{1,6})([smhd]?)$/.exec(text);
  if (!match) return `--ttl '${text}': expected a duration such as 30m, 1h or 2d`;
  const ms = Number(match[1]) * UNITS[match[2] || 'm']!;
  if (ms < UNITS.m! || ms > MAX_TTL_MS) return `--ttl '${text}': a join token lives between 1 minute and 7 days`;
  return ms;
};

export const nodeTokenCommand: Command = viewCommand({
  path: ['node', 'token'],
  args: ['name'],
  usage: '[--ttl DURATION] [--output json]',
  summary: "issue a one-time token with which a new host's opl-noded joins the cluster as node NAME",
  details: `Prints the token and the command to start on the new host. The token is good once,
for --ttl (default 1h; 1m to 7d), for node NAME only; a new one replaces it. It never
crosses the network: 'opl node add NAME --address HOST' and the waiting daemon each prove
they hold it, and the cluster then certifies the key the host made for itself. Carry it
to the host as you would a password (not in a shared shell history).`,
  options: { ttl: { type: 'string' } },
  prepare: (ctx) => {
    const ttl = parseTtl(ctx.values.ttl ?? '1h');
    return typeof ttl === 'string' ? ctx.fail(ttl) : ttl;
  },
  view: async (s, { command, args: [name], prepared: ttlMs }) => {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(name)) {
      s.io.err(`opl: ${command}: '${name}' is not a node name (letters, digits, '.', '_', '-')\n`);
      return 2;
    }
    if (!existsSync(caFiles(caDirOf(s.dataDir)).key)) {
      s.io.err(`opl: ${command}: this cluster has no certificate authority in ${caDirOf(s.dataDir)} ('opl cluster init' makes it)\n`);
      return 1;
    }
    if (nodeInfos(await s.views()).some((n) => n.name === name)) {
      s.io.err(`opl: ${command}: node '${name}' is in the cluster already\n`);
      return 1;
    }
    const { token, expiresAt } = issueJoinToken(s.dataDir, name, ttlMs);
    const expires = new Date(expiresAt).toISOString();
    if (s.format === 'json') s.io.out(json({ node: name, token, expiresAt: expires }));
    else {
      s.io.out(`${token}\n`);
      s.io.err(`Good once, for node ${name}, until ${expires}. On the new host:\n  OPL_JOIN_TOKEN=<the token> opl-noded --dir DIR --name ${name}\nthen here: opl node add ${name} --group GROUP --address HOST\n`);
    }
    return 0;
  },
});
