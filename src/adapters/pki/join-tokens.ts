import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { TOKEN_PREFIX } from '../../domain/join-proof.js';
import { caDirOf } from './openssl-ca.js';

/**
 * The cluster's outstanding join tokens, one file per node name in `ca/join-tokens/`
 * (mode 0600, beside the authority's key: a token is worth a certificate). One file a
 * node, each written whole and renamed into place, so that tokens issued at the same
 * moment for different nodes never overwrite each other. A token is used once: spent
 * when the node proves it holds it; an expired one is refused.
 */
const Token = z.object({ node: z.string(), token: z.string(), expiresAt: z.number() });
type Token = z.infer<typeof Token>;

const dirOf = (dataDir: string) => join(caDirOf(dataDir), 'join-tokens');
// Node names are [A-Za-z0-9._-], checked before a token is issued; never '.' or '..' here.
const fileOf = (dataDir: string, node: string) => join(dirOf(dataDir), `${node}.json`);

const read = (dataDir: string, node: string): Token | undefined => {
  const file = fileOf(dataDir, node);
  if (!existsSync(file)) return undefined;
  const parsed = Token.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success || parsed.data.node !== node) throw new Error(`${file} is not a join token for node ${node}; remove it and issue a new one`);
  return parsed.data;
};

/** A new token for NODE, replacing any it had. */
export const issueJoinToken = (dataDir: string, node: string, ttlMs: number, now = Date.now()): { token: string; expiresAt: number } => {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(node)) throw new Error(`'${node}' is not a node name`);
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  const expiresAt = now + ttlMs;
  mkdirSync(dirOf(dataDir), { recursive: true, mode: 0o700 });
  const file = fileOf(dataDir, node);
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.new`;
  writeFileSync(temp, JSON.stringify({ node, token, expiresAt }), { mode: 0o600 });
  renameSync(temp, file);
  return { token, expiresAt };
};

/** NODE's token, if one is outstanding; a reason instead when there is none (or it expired). */
export const findJoinToken = (dataDir: string, node: string, now = Date.now()): { token: string } | { refused: string } => {
  const found = read(dataDir, node);
  if (!found) return { refused: `no join token was issued for node ${node} ('opl node token ${node}')` };
  if (found.expiresAt <= now) return { refused: `the join token for node ${node} expired at ${new Date(found.expiresAt).toISOString()}; issue a new one ('opl node token ${node}')` };
  return { token: found.token };
};

/** Spends NODE's token: it serves once. */
export const spendJoinToken = (dataDir: string, node: string): void => rmSync(fileOf(dataDir, node), { force: true });

/** Whether NODE has a token issued, expired or not: a node add then goes the join's way (and says so when it expired). */
export const joinTokenIssued = (dataDir: string, node: string): boolean => existsSync(fileOf(dataDir, node));
