import * as E from 'fp-ts/lib/Either.js';
import type { ClusterState } from '../../domain/cluster-state.js';
import { changeGroupRequest } from '../request.js';
import { groupIsRedundant } from './global-n1.js';
import { readModel } from './model.js';

export interface GroupRedundancy {
  group: string;
  onlineNodes: number;
  /** Whether any one node of the group could fail and its instances find room on the others (htools' global N+1). */
  redundant: boolean;
}

/**
 * Each group's N+1 redundancy, judged by the built-in allocator's own model of the
 * cluster (the one it places and moves instances with), so that `cluster verify` and
 * the allocator cannot disagree about it.
 */
export const groupRedundancy = (state: ClusterState): GroupRedundancy[] => {
  const model = readModel(changeGroupRequest(state, [], []));
  if (E.isLeft(model)) throw new Error(`the cluster's own allocator request does not read back: ${model.left}`);
  return [...state.groups.values()]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((group) => ({
      group: group.name,
      onlineNodes: [...state.nodes.values()].filter((n) => n.groupUuid === group.uuid && !n.offline).length,
      redundant: groupIsRedundant(model.right, group.uuid),
    }));
};
