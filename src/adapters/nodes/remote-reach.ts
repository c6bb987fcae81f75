import type { NodeAddress, NodeReach } from '../../domain/ports/node-reach.js';
import { readClusterPki } from '../pki/cluster-pki.js';
import { NodeCallError, remoteNode, type RemoteNode } from './remote-client.js';

/**
 * The engine's way to the node daemons, with the cluster's certificates from the data
 * dir (read when first needed, so that commands that call no node never touch them).
 * One client per node and address, kept for the session: TLS sessions are reused.
 */
export const remoteNodeReach = (dataDir: string, options: { timeoutMs?: number; retries?: number } = {}): NodeReach => {
  const clients = new Map<string, RemoteNode>();
  const client = (name: string, address: NodeAddress): RemoteNode | string => {
    const key = `${name}@${address.host}:${address.port}`;
    const known = clients.get(key);
    if (known) return known;
    const pki = readClusterPki(dataDir);
    if (!pki) return `this cluster has no certificate authority in ${dataDir}/ca (made by 'opl cluster init'); it cannot call node daemons`;
    const made = remoteNode({ name, ...address, caPem: pki.caPem, ...pki.engine, ...options });
    clients.set(key, made);
    return made;
  };
  return {
    facts: async (name, address) => {
      const node = client(name, address);
      if (typeof node === 'string') return { ok: false, kind: 'no-authority', message: node };
      try {
        return { ok: true, facts: await node.facts() };
      } catch (error) {
        if (error instanceof NodeCallError) return { ok: false, kind: error.kind, message: error.message };
        throw error;
      }
    },
    close: () => {
      for (const c of clients.values()) c.close();
      clients.clear();
    },
  };
};
