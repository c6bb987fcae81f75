import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * The cluster's certificate authority, kept in `DATA_DIR/ca/`, made and run with the
 * `openssl` program (Node can read certificates but not issue them). `openssl ca` keeps
 * the register of what was issued (`index.txt`), so that a certificate can be revoked
 * and the revocation list (`crl.pem`) handed to the node daemons, whose TLS layer then
 * refuses a revoked caller during the handshake, before any request is read.
 *
 * Two kinds of certificate: `node` (an `opl-noded`: server and client, named by its
 * node name and address) and `client` (the engine and operators' tools calling nodes).
 * Keys are P-256; private keys never leave the host that made them: a node makes its
 * own key and sends a signing request (see `requestCertificate`).
 */
export class CaError extends Error {}

export type CertificateKind = 'node' | 'client';

export const caDirOf = (dataDir: string): string => join(dataDir, 'ca');
export const caFiles = (dir: string) => ({
  key: join(dir, 'ca.key'),
  cert: join(dir, 'ca.pem'),
  crl: join(dir, 'crl.pem'),
  config: join(dir, 'openssl.cnf'),
});

const OPENSSL_TIMEOUT_MS = 30_000;

// The config reads OPL_CERT_SAN even in sections a command does not use: it must be set.
const openssl = async (args: string[], what: string, san = 'DNS:unused'): Promise<string> => {
  try {
    return (await run('openssl', args, { timeout: OPENSSL_TIMEOUT_MS, maxBuffer: 1 << 20, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', OPL_CERT_SAN: san } })).stdout;
  } catch (error) {
    const e = error as { code?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT') throw new CaError(`${what}: the 'openssl' program is not installed (Debian package openssl)`);
    const detail = (e.stderr ?? e.message).trim().split('\n').filter(Boolean).slice(-1)[0] ?? e.message;
    throw new CaError(`${what}: openssl failed: ${detail}`);
  }
};

/** `openssl ca`'s configuration: its register beside it, and the two kinds' extensions. */
const configText = (dir: string): string => `[ ca ]
default_ca = opl
[ opl ]
dir = ${dir}
database = $dir/index.txt
new_certs_dir = $dir/issued
certificate = $dir/ca.pem
private_key = $dir/ca.key
serial = $dir/serial
crlnumber = $dir/crlnumber
default_md = sha256
default_days = 825
default_crl_days = 3650
policy = any
unique_subject = no
copy_extensions = none
[ any ]
commonName = supplied
[ node ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = $ENV::OPL_CERT_SAN
[ client ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
`;

/** Makes the authority in DIR (refused if one is there): its key (0600), its certificate, an empty revocation list. */
export const createClusterCa = async (dir: string, clusterName: string): Promise<void> => {
  const files = caFiles(dir);
  if (existsSync(files.key)) throw new CaError(`a certificate authority already exists in ${dir}`);
  mkdirSync(join(dir, 'issued'), { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  writeFileSync(join(dir, 'crlnumber'), '1000\n');
  writeFileSync(files.config, configText(dir));
  await openssl(
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', files.key, '-out', files.cert, '-days', '3650',
      '-subj', `/O=opledger/CN=opledger cluster ${clusterName} CA`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    'making the cluster certificate authority',
  );
  chmodSync(files.key, 0o600);
  await writeCrl(dir);
};

const writeCrl = async (dir: string): Promise<void> => {
  const files = caFiles(dir);
  await openssl(['ca', '-batch', '-config', files.config, '-gencrl', '-out', files.crl], 'writing the revocation list');
};

/** A key made here and its signing request: what a node (or a client) sends to be certified. Its key stays with the caller. */
export const makeKeyAndRequest = async (commonName: string): Promise<{ keyPem: string; csrPem: string }> => {
  const scratch = mkdtempSync(join(process.env.TMPDIR ?? '/tmp', 'opl-csr-'));
  try {
    const [key, csr] = [join(scratch, 'key.pem'), join(scratch, 'req.pem')];
    await openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${commonName}`], 'making a key');
    return { keyPem: readFileSync(key, 'utf8'), csrPem: readFileSync(csr, 'utf8') };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
};

export interface IssueRequest {
  csrPem: string;
  commonName: string;
  kind: CertificateKind;
  /** Names the certificate is valid for (node certificates): DNS names and IP addresses. */
  names?: readonly string[];
  /** Validity; the default is 825 days from now. Dates as openssl wants them: YYYYMMDDHHMMSSZ. */
  startDate?: string;
  endDate?: string;
}

const subjectAltName = (names: readonly string[]): string =>
  names.map((n) => (/^[0-9.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');

/** Signs a request with the authority in DIR; returns the certificate (PEM). */
export const issueCertificate = async (dir: string, request: IssueRequest): Promise<string> => {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(request.commonName)) throw new CaError(`'${request.commonName}' cannot name a certificate (letters, digits, '.', '_', '-')`);
  const files = caFiles(dir);
  const scratch = mkdtempSync(join(process.env.TMPDIR ?? '/tmp', 'opl-issue-'));
  try {
    const [csr, cert] = [join(scratch, 'req.pem'), join(scratch, 'cert.pem')];
    writeFileSync(csr, request.csrPem);
    const validity = request.startDate && request.endDate ? ['-startdate', request.startDate, '-enddate', request.endDate] : [];
    const names = request.names?.length ? request.names : [request.commonName];
    await openssl(
      ['ca', '-batch', '-config', files.config, '-in', csr, '-out', cert, '-notext', '-subj', `/CN=${request.commonName}`, '-extensions', request.kind, ...validity],
      `certifying ${request.kind} '${request.commonName}'`,
      subjectAltName(names),
    );
    return readFileSync(cert, 'utf8');
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
};

/** Revokes a certificate the authority issued and rewrites the revocation list. */
export const revokeCertificate = async (dir: string, certPem: string): Promise<void> => {
  const scratch = mkdtempSync(join(process.env.TMPDIR ?? '/tmp', 'opl-revoke-'));
  try {
    const cert = join(scratch, 'cert.pem');
    writeFileSync(cert, certPem);
    await openssl(['ca', '-batch', '-config', caFiles(dir).config, '-revoke', cert], 'revoking a certificate');
    await writeCrl(dir);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
};

/** A key and a certificate signed by itself: what a node serves while it joins, before the cluster has certified it. */
export const makeSelfSigned = async (commonName: string): Promise<{ keyPem: string; certPem: string }> => {
  const scratch = mkdtempSync(join(process.env.TMPDIR ?? '/tmp', 'opl-self-'));
  try {
    const [key, cert] = [join(scratch, 'key.pem'), join(scratch, 'cert.pem')];
    await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${commonName}`], 'making a joining key');
    return { keyPem: readFileSync(key, 'utf8'), certPem: readFileSync(cert, 'utf8') };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
};
