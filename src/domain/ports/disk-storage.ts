import type { PoolConfig } from '../cluster-state.js';
import type { DeviceSighting } from '../devices.js';
import type { DiskRecord } from '../events.js';
import type { DiskTemplate } from '../templates.js';

/** One disk as the storage sees it: where, for which instance, what it is. */
export interface DiskTarget {
  nodeName: string;
  template: DiskTemplate;
  instance: { name: string; uuid: string; tags: string[] };
  disk: DiskRecord;
  /** The pool's driver and parameters, for `ext` disks. */
  pool?: PoolConfig;
  /** Every online node of the instance's group: where shared devices must be seen. */
  peers: string[];
}

/** One call to an external storage driver, as the log records it. */
export interface DriverCall {
  pool: string;
  driver: string;
  action: string;
  node: string;
  instance: string;
  instanceUuid: string;
  diskIndex: number;
  exitCode: number | null;
  durationMs: number;
  outcome: 'ok' | 'failed' | 'timeout';
  logicalId?: string;
  message?: string;
}

/** How storage reports back while it works: each driver call, and what a driver said. */
export interface StorageContext {
  /**
   * The id of the intent event recorded before this call. A successor engine retrying
   * the call passes the same id, and gets the first call's result instead of a second
   * run where the storage can tell (external drivers, with a call journal).
   */
  callId?: string;
  recordCall(call: DriverCall): Promise<void>;
  /**
   * Takes the logical id a driver printed for a disk, or answers why it may not (it is
   * already another disk's in that pool, configured or being made). Absent: nothing
   * to check against (tools and tests that run storage on their own).
   */
  claimLogicalId?(pool: string, logicalId: string, disk: { instanceUuid: string; diskIndex: number }): Promise<string | undefined>;
  log(level: 'info' | 'warning' | 'error', message: string): Promise<void>;
}

/**
 * What the engine asks of a template's storage. Every call is idempotent for the
 * storage we run ourselves; a driver's own idempotence is its author's promise.
 */
export interface DiskStorage {
  /** Makes (or adopts) the disk; answers the logical id it has, and its size if the storage decides it. */
  create(target: DiskTarget, ctx: StorageContext): Promise<{ logicalId: string; sizeMib?: number }>;
  /** Grows to at least `sizeMib`; answers the size it has now. Never shrinks. */
  grow(target: DiskTarget, sizeMib: number, ctx: StorageContext): Promise<{ sizeMib: number }>;
  remove(target: DiskTarget, ctx: StorageContext): Promise<void>;
  /** Follows an instance rename; answers the disk's logical id from now on. */
  rename(target: DiskTarget, newInstanceName: string, proposedLogicalId: string, ctx: StorageContext): Promise<{ logicalId: string }>;
  /** Makes the disk usable on the target's node; answers where it appeared there. */
  attach(target: DiskTarget, ctx: StorageContext): Promise<{ device: string; uris?: Record<string, string> }>;
  detach(target: DiskTarget, ctx: StorageContext): Promise<void>;
  /**
   * Adopted storage only: which device `path` resolves to on a node (links followed),
   * its number and size — looked at before an adoption is decided.
   */
  identify?(nodeName: string, path: string): Promise<DeviceSighting>;
}

/** A storage call that did not end in time: failed with the `timeout` kind. */
export class StorageTimeoutError extends Error {
  override readonly name = 'StorageTimeoutError';
}
