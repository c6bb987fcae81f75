import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { checkpointMessage } from '../../domain/audit-events.js';

/** The checkpoint signing key: Ed25519, made once per data dir, readable by its owner only. */
export const AUDIT_KEY_FILE = 'audit-key.pem';

export interface AuditKey {
  privateKey: KeyObject;
  publicKeyPem: string;
  fingerprint: string;
}

/** `sha256:` and the first 16 bytes of SHA-256 over the key's SPKI DER, in hex. */
export const fingerprintOf = (publicKey: KeyObject): string =>
  `sha256:${createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 32)}`;

const fromPrivate = (privateKey: KeyObject): AuditKey => {
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), fingerprint: fingerprintOf(publicKey) };
};

export const auditKeyPath = (dataDir: string): string => join(dataDir, AUDIT_KEY_FILE);

export const loadAuditKey = (dataDir: string): AuditKey | undefined => {
  const path = auditKeyPath(dataDir);
  if (!existsSync(path)) return undefined;
  let key: KeyObject;
  try {
    key = createPrivateKey(readFileSync(path));
  } catch (error) {
    throw new Error(`audit key '${path}' cannot be read as a PEM private key: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`audit key '${path}' is a ${key.asymmetricKeyType} key; expected Ed25519`);
  return fromPrivate(key);
};

/** Loads the data dir's key, or makes it: written with O_EXCL and mode 0600, never replaced. */
export const ensureAuditKey = (dataDir: string): AuditKey => {
  const existing = loadAuditKey(dataDir);
  if (existing) return existing;
  mkdirSync(dataDir, { recursive: true });
  const { privateKey } = generateKeyPairSync('ed25519');
  const fd = openSync(auditKeyPath(dataDir), 'wx', 0o600);
  try {
    writeSync(fd, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  } finally {
    closeSync(fd);
  }
  return fromPrivate(privateKey);
};

/** An auditor's copy of the public key: a PEM file, refused in one line if it is anything else. */
export const readPublicKeyFile = (path: string): KeyObject => {
  let text: Buffer;
  try {
    text = readFileSync(path);
  } catch (error) {
    throw new Error(`--public-key '${path}': cannot read it (${(error as { code?: string }).code ?? String(error)})`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey(text);
  } catch {
    throw new Error(`--public-key '${path}': not a PEM public key; expected the output of 'opl audit public-key'`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`--public-key '${path}': a ${key.asymmetricKeyType} key; expected Ed25519`);
  return key;
};

export const parsePublicKeyPem = (pem: string): KeyObject | undefined => {
  try {
    const key = createPublicKey(pem);
    return key.asymmetricKeyType === 'ed25519' ? key : undefined;
  } catch {
    return undefined;
  }
};

export const signCheckpoint = (key: AuditKey, c: { position: number; hash: string; time: string }): string =>
  sign(null, checkpointMessage(c), key.privateKey).toString('base64');

export const checkpointSignatureHolds = (publicKey: KeyObject, c: { position: number; hash: string; time: string; signature: string }): boolean => {
  try {
    return verify(null, checkpointMessage(c), publicKey, Buffer.from(c.signature, 'base64'));
  } catch {
    return false;
  }
};
