import type { ClusterState } from './cluster-state.js';

/** What one node found in its file directories: `INSTANCE/diskN` names, as listed there. */
export interface StorageSurvey {
  /** Disk files in the node's own `file` directory, relative (`web/disk0`). */
  fileDisks: string[];
  /** Disk files in the shared file storage directory, absolute; absent when it could not look. */
  sharedDisks?: string[];
  /** Why the shared directory could not be used there (missing, not a directory, not writable, not given to the node). */
  sharedProblem?: string;
}

export interface DiskFinding {
  node: string;
  problem: string;
}

const sortedNodes = (state: ClusterState) => [...state.nodes.values()].sort((a, b) => a.name.localeCompare(b.name));

/**
 * Compares what each node holds with what the configuration says it should: a `file`
 * disk missing on its instance's primary, or one there that no instance of that node
 * has; a `sharedfile` disk some node of its instance's group does not see, or one in the
 * shared directory that no instance has (reported once, by the first node that sees it).
 * Nodes without a survey (offline, unreachable) are left out.
 */
export const verifyDisks = (state: ClusterState, surveys: ReadonlyMap<string, StorageSurvey>): DiskFinding[] => {
  const findings: DiskFinding[] = [];
  const shared = state.params?.sharedFileStorageDir;
  const instances = [...state.instances.values()].sort((a, b) => a.name.localeCompare(b.name));
  const sharedOwners = new Map<string, string>();
  for (const instance of instances.filter((i) => i.diskTemplate === 'sharedfile')) for (const d of instance.disks) sharedOwners.set(d.logicalId, instance.name);
  for (const node of sortedNodes(state)) {
    const survey = surveys.get(node.name);
    if (!survey) continue;
    if (survey.sharedProblem) findings.push({ node: node.name, problem: survey.sharedProblem });
    const held = new Set(survey.fileDisks);
    const expected = new Set<string>();
    for (const instance of instances.filter((i) => i.diskTemplate === 'file' && i.primaryNodeUuid === node.uuid)) {
      for (const d of instance.disks) {
        expected.add(d.logicalId);
        if (!held.has(d.logicalId)) findings.push({ node: node.name, problem: `disk ${d.index} of instance ${instance.name} (file ${d.logicalId}) is missing` });
      }
    }
    for (const name of survey.fileDisks) if (!expected.has(name)) findings.push({ node: node.name, problem: `holds file disk ${name}, which no instance on it has` });
    if (!shared || survey.sharedDisks === undefined) continue;
    const sees = new Set(survey.sharedDisks);
    for (const instance of instances.filter((i) => i.diskTemplate === 'sharedfile')) {
      const primary = state.nodes.get(instance.primaryNodeUuid);
      if (!primary || primary.groupUuid !== node.groupUuid) continue;
      // A disk made under an earlier shared directory stays there; only the current one is listed.
      for (const d of instance.disks.filter((disk) => disk.logicalId.startsWith(`${shared}/`))) {
        if (!sees.has(d.logicalId)) findings.push({ node: node.name, problem: `does not see disk ${d.index} of instance ${instance.name} (sharedfile ${d.logicalId})` });
      }
    }
  }
  // A stray in the shared directory is one finding, however many nodes see it.
  const strays = new Map<string, string>();
  for (const node of sortedNodes(state)) {
    for (const path of surveys.get(node.name)?.sharedDisks ?? []) if (!sharedOwners.has(path) && !strays.has(path)) strays.set(path, node.name);
  }
  for (const [path, node] of strays) findings.push({ node, problem: `sees sharedfile disk ${path} in the shared directory, which no instance has` });
  return findings;
};
