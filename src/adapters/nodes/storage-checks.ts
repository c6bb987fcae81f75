import { randomUUID } from 'node:crypto';
import type { ClusterState, NodeConfig } from '../../domain/cluster-state.js';
import type { NodeStorageCheck, Probe } from '../../domain/ports/node-storage-check.js';
import { verifyDisks, type StorageSurvey } from '../../domain/verify-disks.js';

export interface StorageFinding {
  node: string;
  problem: string;
}

const listed = (names: string[]) => (names.length <= 3 ? names.join(', ') : `${names.slice(0, 3).join(', ')} and ${names.length - 3} more`);

/**
 * File storage as each answering node sees it, all nodes at once, in three rounds:
 * each surveys its directories and writes a probe into the shared one; each reads the
 * probes the other nodes of its group wrote (a node that cannot is not on the same file
 * system, whatever the path says); each removes its own. Then what they hold is
 * compared with the configuration (verifyDisks).
 */
export const checkNodeStorage = async (state: ClusterState, check: NodeStorageCheck, answering: ReadonlySet<string>): Promise<StorageFinding[]> => {
  const shared = state.params?.sharedFileStorageDir;
  const run = randomUUID().slice(0, 8);
  const nodes = [...state.nodes.values()].filter((n) => !n.offline && answering.has(n.name)).sort((a, b) => a.name.localeCompare(b.name));
  const findings: StorageFinding[] = [];
  const surveys = new Map<string, StorageSurvey>();
  const probes = new Map<string, Probe>();
  await Promise.all(
    nodes.map(async (node) => {
      const probe = shared ? { name: `.opl-verify-${run}-${node.name}`, token: randomUUID() } : undefined;
      try {
        const survey = await check.survey(node.name, shared, probe);
        surveys.set(node.name, survey);
        if (probe && survey.sharedDisks) probes.set(node.name, probe);
      } catch (error) {
        findings.push({ node: node.name, problem: `could not look at its file storage: ${(error as Error).message}` });
      }
    }),
  );
  if (shared) {
    const peersOf = (node: NodeConfig) => nodes.filter((n) => n.groupUuid === node.groupUuid && n.name !== node.name && probes.has(n.name));
    await Promise.all(
      nodes.filter((n) => probes.has(n.name)).map(async (node) => {
        const peers = peersOf(node);
        if (peers.length === 0) return;
        try {
          const unseen = await check.unseen(node.name, shared, peers.map((p) => probes.get(p.name)!));
          const writers = peers.filter((p) => unseen.some((u) => u.name === probes.get(p.name)!.name)).map((p) => p.name);
          if (writers.length) findings.push({ node: node.name, problem: `does not see the file${writers.length > 1 ? 's' : ''} node${writers.length > 1 ? 's' : ''} ${listed(writers)} wrote in the shared file storage directory ${shared}: it is not one file system with ${writers.length > 1 ? 'them' : 'it'}` });
        } catch (error) {
          findings.push({ node: node.name, problem: `could not read the other nodes' files in ${shared}: ${(error as Error).message}` });
        }
      }),
    );
    await Promise.all([...probes.keys()].map((name) => check.removeProbe(name, shared, probes.get(name)!.name).catch((error: Error) => findings.push({ node: name, problem: `could not remove its probe file from ${shared}: ${error.message}` }))));
  }
  // Node by node, as verify prints them (a stable sort keeps each node's own order).
  return [...findings, ...verifyDisks(state, surveys)].sort((a, b) => a.node.localeCompare(b.node));
};
