import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Joining a node with a one-time token: the operator asks the cluster for a token
 * (`opl node token NAME`) and starts the new host's `opl-noded --join TOKEN`. The token
 * itself never crosses the network: each side proves it holds it with an HMAC over what
 * it sends. The node proves it over its signing request (so a host in the middle cannot
 * put its own key there), the engine over the certificate and the authority it hands
 * back (so the node takes them from the cluster that issued the token, not from
 * whoever reached it first). The node's private key never leaves the node.
 */
export const TOKEN_PREFIX = 'opl1.';
export const isJoinToken = (text: string): boolean => /^opl1\.[A-Za-z0-9_-]{43}$/.test(text);

const mac = (token: string, ...parts: string[]): string => createHmac('sha256', token).update(parts.join('\0')).digest('hex');

/**
 * The node's proof also covers the fingerprint of the certificate it serves the join
 * with: the engine checks it against the one its TLS connection met, so a host relaying
 * the join through a TLS connection of its own is found out.
 */
export const requestProof = (token: string, node: string, csrPem: string, nonce: string, tlsFingerprint: string): string =>
  mac(token, 'join-request', node, csrPem, nonce, tlsFingerprint);
export const completionProof = (token: string, node: string, certPem: string, caPem: string, crlPem: string): string => mac(token, 'join-complete', node, certPem, caPem, crlPem);

export const proofHolds = (expected: string, given: unknown): boolean => {
  if (typeof given !== 'string' || given.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(expected), Buffer.from(given));
};
