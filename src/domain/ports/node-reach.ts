/** What a node reports about itself: measured on its host, never taken from the log. */
export interface NodeFacts {
  name: string;
  hostname: string;
  /** MiB, from /proc/meminfo: MemTotal, and MemAvailable (what can be given to guests without swapping). */
  memoryTotalMib: number;
  memoryFreeMib: number;
  cpus: number;
  /** Per storage directory the node was told about: its file system's size and free space, in MiB. */
  storage: { path: string; totalMib: number; freeMib: number; error?: string }[];
  /** The instances its hypervisor runs, sorted. */
  instances: string[];
  /** The node's clock when it answered (ms since the epoch): the caller computes the skew. */
  time: number;
}

/** Where a node's daemon listens. */
export interface NodeAddress {
  host: string;
  port: number;
}

export type NodeReachFailure = 'unreachable' | 'not-this-cluster' | 'refused' | 'bad-answer' | 'node-error' | 'no-authority';

export type NodeFactsResult = { ok: true; facts: NodeFacts } | { ok: false; kind: NodeReachFailure; message: string };

/** The engine's way to the node daemons (`opl-noded`); nodes without an address stay local and are not asked. */
export type NodeJoinResult = { ok: true; certified: string } | { ok: false; kind: NodeReachFailure; message: string };

export interface NodeReach {
  facts(name: string, address: NodeAddress): Promise<NodeFactsResult>;
  /** Whether a join token was issued for NAME: its add then certifies the node first. */
  joinPending(name: string): boolean;
  /** Certifies the node waiting at ADDRESS to join with NAME's token (spent on success). */
  join(name: string, address: NodeAddress): Promise<NodeJoinResult>;
  close(): void;
}

/** The failures of a call to a node, by what the caller can do about them. */
export type NodeCallFailure = 'unreachable' | 'not-this-cluster' | 'refused' | 'bad-answer' | 'node-error';

/**
 * A call to a node's daemon that did not give an answer to believe. `unreachable`
 * means the call may or may not have been done there: only the node can tell, later.
 */
export class NodeCallError extends Error {
  constructor(
    readonly kind: NodeCallFailure,
    message: string,
  ) {
    super(message);
  }
}
