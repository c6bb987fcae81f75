import { X509Certificate } from 'node:crypto';
import type { NodeAddress, NodeReach } from '../../domain/ports/node-reach.js';
import { readClusterPki } from '../pki/cluster-pki.js';
import { findJoinToken, joinTokenIssued, spendJoinToken } from '../pki/join-tokens.js';
import { CaError, issueCertificate } from '../pki/openssl-ca.js';
import { joinNode } from './join-client.js';
import { NodeCallError, remoteNode, type RemoteNode } from './remote-client.js';

/**
 * The engine's way to the node daemons, with the cluster's certificates from the data
 * dir (read when first needed, so that commands that call no node never touch them).
 * One client per node and address, kept for the session: TLS sessions are reused.
 */
export interface RemoteNodeReach extends NodeReach {
  /** The daemon client for NAME at ADDRESS (one per session); throws when the cluster has no authority. */
  client(name: string, address: NodeAddress): RemoteNode;
}

export const remoteNodeReach = (dataDir: string, options: { timeoutMs?: number; retries?: number } = {}): RemoteNodeReach => {
  const clients = new Map<string, RemoteNode>();
  const noAuthority = `this cluster has no certificate authority in ${dataDir}/ca (made by 'opl cluster init'); it cannot call node daemons`;
  const client = (name: string, address: NodeAddress): RemoteNode | string => {
    const key = `${name}@${address.host}:${address.port}`;
    const known = clients.get(key);
    if (known) return known;
    const pki = readClusterPki(dataDir);
    if (!pki) return noAuthority;
    const made = remoteNode({ name, ...address, caPem: pki.caPem, ...pki.engine, ...options });
    clients.set(key, made);
    return made;
  };
  const failed = (error: unknown) => {
    if (error instanceof NodeCallError) return { ok: false as const, kind: error.kind, message: error.message };
    if (error instanceof CaError) return { ok: false as const, kind: 'no-authority' as const, message: error.message };
    throw error;
  };
  return {
    client: (name, address) => {
      const node = client(name, address);
      if (typeof node === 'string') throw new CaError(node);
      return node;
    },
    facts: async (name, address) => {
      const node = client(name, address);
      if (typeof node === 'string') return { ok: false, kind: 'no-authority', message: node };
      try {
        return { ok: true, facts: await node.facts() };
      } catch (error) {
        return failed(error);
      }
    },
    joinPending: (name) => joinTokenIssued(dataDir, name),
    join: async (name, address) => {
      const pki = readClusterPki(dataDir);
      if (!pki) return { ok: false, kind: 'no-authority', message: noAuthority };
      const found = findJoinToken(dataDir, name);
      if ('refused' in found) return { ok: false, kind: 'refused', message: found.refused };
      let serial = '';
      try {
        await joinNode({
          name,
          ...address,
          token: found.token,
          ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
          certify: async (csrPem) => {
            spendJoinToken(dataDir, name); // the node proved it holds it: it serves once
            const certPem = await issueCertificate(pki.caDir, { csrPem, commonName: name, kind: 'node', names: [name, address.host] });
            serial = new X509Certificate(certPem).serialNumber;
            return { certPem, caPem: pki.caPem, crlPem: readClusterPki(dataDir)!.crlPem };
          },
        });
        return { ok: true, certified: serial };
      } catch (error) {
        return failed(error);
      }
    },
    close: () => {
      for (const c of clients.values()) c.close();
      clients.clear();
    },
  };
};
