import type { ClusterState } from './cluster-state.js';

/**
 * What a driver may call a volume. A logical id is handed back to the driver on every
 * later call (LOGICAL_ID) and often ends up in a path or a command line on its side,
 * so it is one word of a small alphabet, not a path, and at most 128 characters.
 */
export const LOGICAL_ID_MAX = 128;
const LOGICAL_ID = /^[A-Za-z0-9_:+][A-Za-z0-9._:+-]*$/;

const shown = (text: string): string => JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text);

/** Why `id` cannot be a logical id, or undefined if it can. */
export const logicalIdProblem = (id: string): string | undefined => {
  if (id.length > LOGICAL_ID_MAX) return `the logical id ${shown(id)} is ${id.length} characters long, more than ${LOGICAL_ID_MAX}`;
  if (!LOGICAL_ID.test(id)) {
    return `the logical id ${shown(id)} is not letters, digits and '._:+-' (not starting with '.' or '-', no '/')`;
  }
  return undefined;
};

/** Which disk holds a logical id: an instance's disk, by uuid and index. */
export interface LogicalIdOwner {
  instanceUuid: string;
  diskIndex: number;
  /** For the message: "disk 0 of instance web1", "disk 1 being created by job 12". */
  description: string;
}

/** A logical id a saga under way has learnt (a create or rename it ran) but not yet recorded in the configuration. */
export interface PendingLogicalId {
  pool: string;
  logicalId: string;
  instanceUuid: string;
  diskIndex: number;
  jobId: number;
}

/**
 * Who already holds `id` in `pool`: a disk of an instance in the configuration, or one
 * a saga under way made. `self` (the disk asking) does not count: a call asked again
 * after a lost engine gets its own answer back.
 */
export const logicalIdOwner = (
  state: ClusterState,
  pending: readonly PendingLogicalId[],
  pool: string,
  id: string,
  self: { instanceUuid: string; diskIndex: number },
): LogicalIdOwner | undefined => {
  const isSelf = (uuid: string, index: number) => uuid === self.instanceUuid && index === self.diskIndex;
  for (const instance of state.instances.values()) {
    for (const disk of instance.disks) {
      if (disk.pool === pool && disk.logicalId === id && !isSelf(instance.uuid, disk.index)) {
        return { instanceUuid: instance.uuid, diskIndex: disk.index, description: `disk ${disk.index} of instance ${instance.name}` };
      }
    }
  }
  const held = pending.find((p) => p.pool === pool && p.logicalId === id && !isSelf(p.instanceUuid, p.diskIndex));
  return held && { instanceUuid: held.instanceUuid, diskIndex: held.diskIndex, description: `disk ${held.diskIndex} being made by job ${held.jobId}` };
};
