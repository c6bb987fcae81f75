import type { Observable } from 'rxjs';
import type { RawEventRow, RawEventTuple } from '../log-chain.js';
import type { RangeSummary } from '../log-chain-ranges.js';

/** Who did what, in which job, on whose behalf: carried by every event. */
export interface EventMetadata {
  actor: string;
  recordedAt: string;
  jobId?: number;
  opIndex?: number;
  engineId?: string;
  causationId?: string;
  correlationId?: string;
}

export interface NewEvent {
  id: string;
  type: string;
  data: unknown;
  metadata: EventMetadata;
}

export interface RecordedEvent extends NewEvent {
  stream: string;
  /** 0-based position of the event within its stream. */
  revision: bigint;
  /** 1-based, gap-free, strictly increasing position in the whole log. */
  position: bigint;
}

/**
 * `no_stream`: the stream must not exist yet. `stream_exists`: it must. A bigint: the
 * revision of the stream's last event must be exactly this. `any`: no check.
 */
export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | bigint;

export interface AppendResult {
  /** Revision of the last event written: the expected revision for the next append. */
  nextRevision: bigint;
  /** Global position of the last event written. */
  position: bigint;
}

export interface ReadAllOptions {
  maxCount?: number;
  filter?: { streamPrefix?: string; types?: readonly string[] };
}

/**
 * An engine's write carries the fencing token of the lease it leads by: the store
 * refuses it, inside the append's transaction, once the lease has a later epoch.
 */
export interface Fence {
  lease: string;
  token: bigint;
}

export interface AppendOptions {
  fence?: Fence;
}

export interface EventStore {
  append(
    stream: string,
    events: readonly NewEvent[],
    expectedRevision: ExpectedRevision,
    options?: AppendOptions,
  ): Promise<AppendResult>;
  readStream(stream: string, fromRevision?: bigint): AsyncIterable<RecordedEvent>;
  /** From `fromPosition` inclusive (default: the start), in global order. */
  readAll(fromPosition?: bigint, options?: ReadAllOptions): AsyncIterable<RecordedEvent>;
  /**
   * The same as `readAll`, a page at a time: folds over millions of events pay the
   * async-iteration cost once per page instead of once per event.
   */
  readAllPages(fromPosition?: bigint, options?: ReadAllOptions): AsyncIterable<readonly RecordedEvent[]>;
  /** Every event from `fromPosition` inclusive, then live ones as they are appended. */
  subscribeAll(fromPosition?: bigint): Observable<RecordedEvent>;
  readonly leases: LeaseStore;
  /** The log as stored, for `audit verify`: nothing parsed, nothing trusted. */
  readonly audit: AuditLog;
  close(): Promise<void>;
}

export interface AuditLog {
  /**
   * Every stored row in position order, after `afterPosition` (default: all of them, even
   * rows someone wrote at position 0 or below), a page at a time.
   */
  readRawPages(afterPosition?: number, pageSize?: number): AsyncIterable<RawEventRow[]>;
  /**
   * The same pages with each row as its columns' tuple, for a store whose driver reads
   * rows as tuples anyway (SQLite): `audit verify` then builds no object a row.
   */
  readRawTuplePages?(afterPosition?: number, pageSize?: number): AsyncIterable<RawEventTuple[]>;
  /** The stored row at one position, if any. */
  rawAt(position: number): Promise<RawEventRow | undefined>;
  /** The revision the store keeps as each stream's head (beside the log, updated with it). */
  streamHeads(): Promise<Map<string, number>>;
  /**
   * The last position known to have been committed, kept outside the database (SQLite's
   * `-head` file), as it was when the store was opened; `id` is '-' when not recorded.
   * A log that ends before it, or holds another event there, lost events.
   */
  witnessedHead?(): Promise<{ position: number; id: string; file: string } | undefined>;
  /**
   * Positions 1 to the last one walked in up to `parts` ranges at once, each range's rows
   * checked on their own (`log-chain-ranges.ts`), for stores that can read in parallel
   * (SQLite, in threads). Undefined when the log holds fewer than `minEvents` events or
   * rows the ranges would not see (below position 1): the caller then walks in one piece.
   */
  walkRanges?(parts: number, options: { minEvents: number; auditStream: string; onProgress?: (rows: number) => void }): Promise<{ end: number; ranges: RangeSummary[] } | undefined>;
}

export interface Lease {
  holder: string;
  pid: number;
  host: string;
  expiresAt: number;
}

/** A lease as the store holds it: with its epoch, the fencing token of its holder. */
export interface HeldLease extends Lease {
  epoch: bigint;
}

/**
 * A named lease kept beside the log: who leads, and until when. Each lease has an
 * epoch that outlives its holders: it is raised whenever the lease passes to a holder
 * that did not hold it a moment before (a take-over, or taking a free lease), and
 * kept when the holder renews it.
 */
export interface LeaseStore {
  /**
   * Takes or renews the lease for `candidate.holder` if it is free, already held by
   * the candidate, or `canTake(current)` says the current holder is gone. Atomic.
   * Resolves with the lease's epoch (the holder's fencing token), or null if not taken.
   */
  tryAcquire(name: string, candidate: Lease, canTake: (current: Lease) => boolean): Promise<bigint | null>;
  /** Lets go of the lease if `holder` holds it; its epoch stays. */
  release(name: string, holder: string): Promise<void>;
  current(name: string): Promise<HeldLease | null>;
}

export class WrongExpectedRevisionError extends Error {
  override readonly name = 'WrongExpectedRevisionError';
  constructor(
    readonly stream: string,
    readonly expected: ExpectedRevision,
    readonly actual: bigint | 'no_stream',
  ) {
    super(`stream '${stream}': expected revision ${String(expected)}, found ${String(actual)}`);
  }
}

export class IdempotencyConflictError extends Error {
  override readonly name = 'IdempotencyConflictError';
  constructor(readonly eventId: string) {
    super(`event id ${eventId} was already appended as part of a different batch`);
  }
}

/** An engine's write refused because another engine took its lease over since it was granted. */
export class FencedError extends Error {
  override readonly name = 'FencedError';
  constructor(
    readonly lease: string,
    readonly token: bigint,
    /** The lease's epoch now; undefined when the engine saw only that it lost the lease. */
    readonly current: bigint | undefined,
    readonly engine: string = 'this engine',
  ) {
    super(
      `engine ${engine}'s lease (epoch ${token}) was taken over (${current === undefined ? 'a later epoch' : `epoch ${current}`}): this engine may not write`,
    );
  }
}

/** Shared by every adapter: a write whose token is older than the lease's epoch is refused. */
export const checkFence = (fence: Fence | undefined, epoch: bigint, events: readonly NewEvent[]): void => {
  if (fence && fence.token < epoch) {
    throw new FencedError(fence.lease, fence.token, epoch, events.find((e) => e.metadata.engineId)?.metadata.engineId);
  }
};

export class StoreOpenError extends Error {
  override readonly name = 'StoreOpenError';
}

/** Shared by every adapter so that they refuse exactly the same appends. */
export const checkExpectedRevision = (
  stream: string,
  expected: ExpectedRevision,
  actual: bigint | 'no_stream',
): void => {
  const fine =
    expected === 'any' ||
    (expected === 'no_stream' && actual === 'no_stream') ||
    (expected === 'stream_exists' && actual !== 'no_stream') ||
    (typeof expected === 'bigint' && actual === expected);
  if (!fine) throw new WrongExpectedRevisionError(stream, expected, actual);
};

export const revisionAfter = (actual: bigint | 'no_stream'): bigint => (actual === 'no_stream' ? 0n : actual + 1n);

/**
 * The store itself failed, not the request: `unavailable` may pass by itself (a
 * PostgreSQL restart, a busy database, an I/O hiccup); `refuses_writes` needs an
 * operator (a full disk, a read-only file or file system). Adapters classify their
 * drivers' errors into this (src/adapters/stores/store-errors.ts) so that the engine
 * can wait and retry instead of treating it as a failed job.
 */
export type StoreFailureKind = 'unavailable' | 'refuses_writes';

export class StoreFailureError extends Error {
  override readonly name = 'StoreFailureError';
  constructor(
    readonly kind: StoreFailureKind,
    /** In our words: what is wrong and where, e.g. "the disk under /var/lib/opledger/opledger.sqlite is full". */
    readonly reason: string,
    /** The driver's own code (SQLITE_FULL, ECONNREFUSED, 57P01…), for the operator who searches for it. */
    readonly code: string,
  ) {
    super(`the store ${kind === 'unavailable' ? 'is unavailable' : 'refuses writes'}: ${reason} (${code})`);
  }
}
