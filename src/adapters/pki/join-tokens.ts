import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { TOKEN_PREFIX } from '../../domain/join-proof.js';
import { caDirOf } from './openssl-ca.js';

/**
 * The cluster's outstanding join tokens, one per node name, in `ca/join-tokens.json`
 * (mode 0600, beside the authority's key: a token is worth a certificate). A token is
 * used once: spent when the node proves it holds it; an expired one is refused.
 */
const Tokens = z.array(z.object({ node: z.string(), token: z.string(), expiresAt: z.number() }));
type Tokens = z.infer<typeof Tokens>;

const fileOf = (dataDir: string) => join(caDirOf(dataDir), 'join-tokens.json');

const read = (dataDir: string): Tokens => {
  const file = fileOf(dataDir);
  if (!existsSync(file)) return [];
  const parsed = Tokens.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) throw new Error(`${file} is not a list of join tokens; remove it and issue new ones`);
  return parsed.data;
};

const write = (dataDir: string, tokens: Tokens): void => {
  const file = fileOf(dataDir);
  writeFileSync(`${file}.new`, JSON.stringify(tokens), { mode: 0o600 });
  renameSync(`${file}.new`, file);
};

/** A new token for NODE, replacing any it had. */
export const issueJoinToken = (dataDir: string, node: string, ttlMs: number, now = Date.now()): { token: string; expiresAt: number } => {
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  const expiresAt = now + ttlMs;
  write(dataDir, [...read(dataDir).filter((t) => t.node !== node && t.expiresAt > now), { node, token, expiresAt }]);
  return { token, expiresAt };
};

/** NODE's token, if one is outstanding; a reason instead when there is none (or it expired). */
export const findJoinToken = (dataDir: string, node: string, now = Date.now()): { token: string } | { refused: string } => {
  const found = read(dataDir).find((t) => t.node === node);
  if (!found) return { refused: `no join token was issued for node ${node} ('opl node token ${node}')` };
  if (found.expiresAt <= now) return { refused: `the join token for node ${node} expired at ${new Date(found.expiresAt).toISOString()}; issue a new one ('opl node token ${node}')` };
  return { token: found.token };
};

/** Spends NODE's token (and drops expired ones): it serves once. */
export const spendJoinToken = (dataDir: string, node: string, now = Date.now()): void => {
  write(dataDir, read(dataDir).filter((t) => t.node !== node && t.expiresAt > now));
};

/** Whether NODE has a token issued, expired or not: a node add then goes the join's way (and says so when it expired). */
export const joinTokenIssued = (dataDir: string, node: string): boolean => read(dataDir).some((t) => t.node === node);
