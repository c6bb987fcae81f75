import type { Observable } from 'rxjs';
import type { RawEventRow } from '../log-chain.js';

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

export interface EventStore {
  append(stream: string, events: readonly NewEvent[], expectedRevision: ExpectedRevision): Promise<AppendResult>;
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
  /** The stored row at one position, if any. */
  rawAt(position: number): Promise<RawEventRow | undefined>;
  /** The revision the store keeps as each stream's head (beside the log, updated with it). */
  streamHeads(): Promise<Map<string, number>>;
}

export interface Lease {
  holder: string;
  pid: number;
  host: string;
  expiresAt: number;
}

/** A named lease kept beside the log: who leads, and until when. */
export interface LeaseStore {
  /**
   * Takes or renews the lease for `candidate.holder` if it is free, already held by
   * the candidate, or `canTake(current)` says the current holder is gone. Atomic.
   */
  tryAcquire(name: string, candidate: Lease, canTake: (current: Lease) => boolean): Promise<boolean>;
  release(name: string, holder: string): Promise<void>;
  current(name: string): Promise<Lease | null>;
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
