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
    const readers = nodes.filter((n) => probes.has(n.name));
    const groupOf = (node: NodeConfig) => readers.filter((n) => n.groupUuid === node.groupUuid);
    // Each node's successor in its group first: one file read each. A node that sees the
    // file of the next one shares its file system, so a ring that holds means the whole
    // group shares one. Only a group whose ring breaks has every node read every other's,
    // to say which nodes are apart.
    const successor = (node: NodeConfig) => {
      const group = groupOf(node);
      return group.length > 1 ? [group[(group.indexOf(node) + 1) % group.length]!] : [];
    };
    const everyOther = (node: NodeConfig) => groupOf(node).filter((n) => n.name !== node.name);
    const readRound = (who: NodeConfig[], peersOf: (node: NodeConfig) => NodeConfig[]): Promise<StorageFinding[]> =>
      Promise.all(who.map((node) => unseenBy(check, shared, node.name, peersOf(node).map((p) => ({ node: p.name, probe: probes.get(p.name)! }))))).then((f) => f.flat());
    const ring = await readRound(readers, successor);
    const broken = new Set(ring.map((f) => state.nodes.get(readers.find((n) => n.name === f.node)!.uuid)!.groupUuid));
    findings.push(...(await readRound(readers.filter((n) => broken.has(n.groupUuid)), everyOther)));
    await Promise.all([...probes.keys()].map((name) => check.removeProbe(name, shared, probes.get(name)!.name).catch((error: Error) => findings.push({ node: name, problem: `could not remove its probe file from ${shared}: ${error.message}` }))));
  }
  // Node by node, as verify prints them (a stable sort keeps each node's own order).
  return [...findings, ...verifyDisks(state, surveys)].sort((a, b) => a.node.localeCompare(b.node));
};

/** What one node finds when it reads the probes the given nodes wrote: one finding at most. */
const unseenBy = async (check: NodeStorageCheck, shared: string, node: string, writers: { node: string; probe: Probe }[]): Promise<StorageFinding[]> => {
  if (writers.length === 0) return [];
  try {
    const unseen = new Set((await check.unseen(node, shared, writers.map((w) => w.probe))).map((p) => p.name));
    const apart = writers.filter((w) => unseen.has(w.probe.name)).map((w) => w.node);
    if (apart.length === 0) return [];
    const many = apart.length > 1;
    return [{ node, problem: `does not see the file${many ? 's' : ''} node${many ? 's' : ''} ${listed(apart)} wrote in the shared file storage directory ${shared}: it is not one file system with ${many ? 'them' : 'it'}` }];
  } catch (error) {
    return [{ node, problem: `could not read the other nodes' files in ${shared}: ${(error as Error).message}` }];
  }
};
