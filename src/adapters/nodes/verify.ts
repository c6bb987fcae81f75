import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import type { ClusterState } from '../../domain/cluster-state.js';
import { adoptedDeviceProblems } from '../storage/block-devices.js';

export interface NodeProblem {
  node: string;
  problem: string;
}

const directoryProblem = async (path: string, what: string): Promise<string | undefined> => {
  try {
    if (!(await stat(path)).isDirectory()) return `${what} ${path} is not a directory`;
  } catch {
    return `${what} ${path} is missing`;
  }
  try {
    await access(path, constants.W_OK);
  } catch {
    return `${what} ${path} is not writable`;
  }
  return undefined;
};

/**
 * Checks each node as that node sees it. With local nodes every node is a
 * directory on this machine and shares its file system; a remote node executor
 * will run the same checks on the node itself.
 */
export const verifyNodes = async (state: ClusterState): Promise<NodeProblem[]> => {
  const problems: NodeProblem[] = [];
  const shared = state.params?.sharedFileStorageDir;
  for (const node of [...state.nodes.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    if (node.offline) continue;
    if (shared) {
      const problem = await directoryProblem(shared, 'shared file storage directory');
      if (problem) problems.push({ node: node.name, problem });
    }
  }
  return [...problems, ...(await adoptedDeviceProblems(state))];
};
