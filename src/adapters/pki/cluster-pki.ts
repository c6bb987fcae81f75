import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { caDirOf, caFiles, createClusterCa, issueCertificate, makeKeyAndRequest } from './openssl-ca.js';

/**
 * The cluster's certificates in its data dir: the authority (`ca/`), and the engine's
 * own client certificate (`ca/engine.key`, `ca/engine.pem`), with which the engine and
 * every `opl` command on this host call the node daemons. Made at `cluster init`, or
 * the first time a cluster made before them needs them; never overwritten.
 */
export interface ClusterPki {
  caPem: string;
  crlPem: string;
  engine: { keyPem: string; certPem: string };
  caDir: string;
}

export const engineFiles = (dataDir: string) => ({ key: join(caDirOf(dataDir), 'engine.key'), cert: join(caDirOf(dataDir), 'engine.pem') });

export const ensureClusterPki = async (dataDir: string, clusterName: string): Promise<ClusterPki> => {
  const caDir = caDirOf(dataDir);
  if (!existsSync(caFiles(caDir).key)) await createClusterCa(caDir, clusterName);
  const engine = engineFiles(dataDir);
  if (!existsSync(engine.cert)) {
    const { keyPem, csrPem } = await makeKeyAndRequest('opl-engine');
    writeFileSync(engine.key, keyPem, { mode: 0o600 });
    writeFileSync(engine.cert, await issueCertificate(caDir, { csrPem, commonName: 'opl-engine', kind: 'client' }));
  }
  return readClusterPki(dataDir)!; // both made just above
};

/** The certificates as they are, or undefined when the cluster has none yet. */
export const readClusterPki = (dataDir: string): ClusterPki | undefined => {
  const caDir = caDirOf(dataDir);
  const engine = engineFiles(dataDir);
  if (!existsSync(caFiles(caDir).cert) || !existsSync(engine.cert)) return undefined;
  return {
    caDir,
    caPem: readFileSync(caFiles(caDir).cert, 'utf8'),
    crlPem: readFileSync(caFiles(caDir).crl, 'utf8'),
    engine: { keyPem: readFileSync(engine.key, 'utf8'), certPem: readFileSync(engine.cert, 'utf8') },
  };
};
