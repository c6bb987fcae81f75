import type { KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { stitchRanges } from '../../domain/log-chain-ranges.js';
import { AUDIT_STREAM, auditEventSchemas, type CheckpointSigned } from '../../domain/audit-events.js';
import { GENESIS_HASH, rowOfTuple, tupleOfRow, walkChain, type ChainFault, type RawEventRow, type RawEventTuple } from '../../domain/log-chain.js';
import type { AuditLog } from '../../domain/ports/event-store.js';
import { checkpointSignatureHolds, fingerprintOf, parsePublicKeyPem } from './keys.js';

export interface CheckedCheckpoint {
  /** Where the checkpoint event is in the log. */
  at: number;
  /** The head it signed. */
  position: number;
  hash: string;
  time: string;
}

export interface VerifyReport {
  ok: boolean;
  events: number;
  head: { position: number; hash: string };
  fault?: ChainFault;
  checkpoints: CheckedCheckpoint[];
  /** Which key the checkpoints were checked with. */
  keySource: 'file' | 'log' | 'none';
  /** Events after the last good checkpoint: nothing signed vouches for them. */
  unsigned: number;
  /** How many ranges the chain was walked in at once (1: in one piece). */
  ranges: number;
}

export interface VerifyOptions {
  /** The auditor's key: checkpoints are checked with it alone, the log's own keys ignored. */
  publicKey?: KeyObject;
  onProgress?: (checked: number) => void;
  /** Walk in parallel ranges from this many events on (default 50,000; tests lower it). */
  parallelFromEvents?: number;
}

interface Claim {
  row: RawEventRow;
  data: CheckpointSigned | undefined;
}

/** A copy's rows may hold anything, even where the chain holds: text that is not JSON is malformed, not a crash. */
const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

const checkpointFault = (kind: ChainFault['kind'], row: RawEventRow, message: string): ChainFault => ({
  kind,
  position: row.position,
  stream: row.stream,
  message: `position ${row.position} (stream ${row.stream}): ${message}`,
});

/** The log's pages as tuples: the store's own when it has them, else its rows taken apart. */
async function* tuplePages(log: AuditLog): AsyncGenerator<readonly RawEventTuple[]> {
  if (log.readRawTuplePages) {
    yield* log.readRawTuplePages();
    return;
  }
  for await (const page of log.readRawPages()) yield page.map(tupleOfRow);
}

/**
 * The store's witness of its last commit (SQLite's `-head` file) catches an end dropped
 * together with its stream heads (an SQL DELETE and UPDATE, or a damaged WAL), which the
 * chain alone cannot: nothing after the end links to what was cut off.
 */
const lostHead = async (log: AuditLog, end: number, witnessed: Awaited<ReturnType<NonNullable<AuditLog['witnessedHead']>>>): Promise<ChainFault | undefined> => {
  if (!witnessed) return undefined;
  const committed = `position ${witnessed.position} (event ${witnessed.id}) was committed, as ${witnessed.file} witnesses`;
  if (witnessed.position > end) {
    return { kind: 'truncated', position: end + 1, stream: '', message: `position ${end + 1}: the log ends at position ${end} but ${committed}: events at its end were dropped` };
  }
  const there = await log.rawAt(witnessed.position);
  if (witnessed.id === '-' || there?.id === witnessed.id) return undefined;
  return {
    kind: 'witness-mismatch',
    position: witnessed.position,
    stream: there?.stream ?? '',
    message: `position ${witnessed.position}${there ? ` (stream ${there.stream})` : ''}: it holds event ${there?.id ?? 'none'}, but ${committed}: the log was rewritten from there`,
  };
};

/** The log checked in ranges at once, when the store can and the ranges stitch into one whole chain. */
const walkInRanges = async (log: AuditLog, streamHeads: ReadonlyMap<string, number>, { onProgress, parallelFromEvents = PARALLEL_FROM_EVENTS }: VerifyOptions) => {
  if (!log.walkRanges || threadCount() < 2) return undefined;
  let rows = 0;
  const progress = onProgress && ((more: number) => onProgress((rows += more)));
  try {
    const walked = await log.walkRanges(threadCount(), { minEvents: parallelFromEvents, auditStream: AUDIT_STREAM, ...(progress && { onProgress: progress }) });
    const stitched = walked && stitchRanges(walked.ranges, walked.end, streamHeads);
    return stitched && { ...stitched, ranges: walked.ranges.length };
  } catch {
    return undefined; // a thread that failed proves nothing: the one-piece walk decides
  }
};

/**
 * Walks the whole log as stored, in parallel ranges where the store can, else page by page, and stops at the first event that is not
 * what was written; then checks every signed checkpoint: its signature, and that the
 * chain reaches the hash it signed at the position it signed.
 */
/** Below this many events one thread is quicker than starting several. */
const PARALLEL_FROM_EVENTS = 50_000;
const threadCount = (): number => Math.min(4, availableParallelism());

export const verifyLog = async (log: AuditLog, options: VerifyOptions = {}): Promise<VerifyReport> => {
  const walk = walkChain();
  /** Where the walk got to: the one-piece walk's, or the stitched ranges' when they were whole. */
  let walked = { checked: 0, head: { position: 0, hash: GENESIS_HASH }, ranges: 1 };
  const claims: Claim[] = [];
  const logKeys = new Map<string, KeyObject>();
  const report = (fault: ChainFault | undefined, checkpoints: CheckedCheckpoint[] = []): VerifyReport => {
    const lastSigned = checkpoints.reduce((last, c) => Math.max(last, c.at), 0);
    return {
      ok: fault === undefined,
      events: walked.checked,
      head: walked.head,
      ...(fault && { fault }),
      checkpoints,
      keySource: options.publicKey ? 'file' : logKeys.size > 0 ? 'log' : 'none',
      unsigned: Math.max(0, walked.head.position - lastSigned),
      ranges: walked.ranges,
    };
  };
  // Only audit rows are parsed; they are few. Parsing is safe: the hash matched.
  const readAuditRow = (tuple: RawEventTuple): void => {
    const row = rowOfTuple(tuple);
    if (row.type === 'CheckpointSigned') {
      const parsed = auditEventSchemas.CheckpointSigned.safeParse(parseJson(row.data));
      claims.push({ row, data: parsed.success ? parsed.data : undefined });
    } else if (row.type === 'AuditKeyRecorded' && !options.publicKey) {
      const parsed = auditEventSchemas.AuditKeyRecorded.safeParse(parseJson(row.data));
      const key = parsed.success ? parsePublicKeyPem(parsed.data.publicKey) : undefined;
      if (key) logKeys.set(fingerprintOf(key), key);
    }
  };
  // Read before the walk: every head it holds was committed with its event, so the walk
  // must reach that event even while appends go on (read after, they would race).
  const streamHeads = await log.streamHeads();
  const witnessed = await log.witnessedHead?.();
  const stitched = await walkInRanges(log, streamHeads, options);
  if (stitched) {
    for (const tuple of stitched.auditRows) readAuditRow(tuple);
    walked = { checked: stitched.checked, head: stitched.head, ranges: stitched.ranges };
  } else {
    // One piece: slower, and the only walk that names a fault, so every fault is named by it.
    for await (const page of tuplePages(log)) {
      for (let i = 0; i < page.length; i++) {
        const tuple = page[i]!;
        const fault = walk.stepTuple(tuple);
        if (fault) {
          walked = { checked: walk.checked, head: walk.head, ranges: 1 };
          return report(fault);
        }
        if (tuple[1] === AUDIT_STREAM) readAuditRow(tuple);
      }
      options.onProgress?.(walk.checked);
    }
    walked = { checked: walk.checked, head: walk.head, ranges: 1 };
    const unfinished = walk.finish(streamHeads);
    if (unfinished) return report(unfinished);
  }
  const truncated = await lostHead(log, walked.head.position, witnessed);
  if (truncated) return report(truncated);
  const checked: CheckedCheckpoint[] = [];
  for (const { row, data } of claims) {
    if (!data) return report(checkpointFault('checkpoint-forged', row, 'a checkpoint whose content is malformed'), checked);
    const key = options.publicKey ?? logKeys.get(data.fingerprint);
    if (!key) {
      return report(checkpointFault('checkpoint-forged', row, `a checkpoint signed by key ${data.fingerprint}, which the log never recorded`), checked);
    }
    // A checkpoint made with another key (a cluster destroyed and made again, a stray key) is
    // named as such, apart from a signature that does not hold under the key it names.
    if (options.publicKey && data.fingerprint !== fingerprintOf(options.publicKey)) {
      return report(checkpointFault('checkpoint-forged', row, `a checkpoint signed by key ${data.fingerprint}, not by the given key ${fingerprintOf(options.publicKey)}`), checked);
    }
    if (!checkpointSignatureHolds(key, data)) {
      const whose = options.publicKey ? 'the given public key' : `the log's key ${data.fingerprint}`;
      return report(checkpointFault('checkpoint-forged', row, `the checkpoint's signature does not verify with ${whose}: a forged checkpoint`), checked);
    }
    if (data.position >= row.position) {
      return report(checkpointFault('checkpoint-forged', row, `a checkpoint of position ${data.position}, not before itself: a forged checkpoint`), checked);
    }
    // The walk already vouched for every row up to here; the signed row is one of them.
    const signed = data.position === 0 ? { hash: GENESIS_HASH } : await log.rawAt(data.position);
    if (!signed || signed.hash !== data.hash) {
      return report(
        checkpointFault('checkpoint-mismatch', row, `it signed hash ${data.hash.slice(0, 16)}… at position ${data.position}, the log has ${signed ? `${signed.hash.slice(0, 16)}…` : 'no event'} there: the log was rewritten since it was signed`),
        checked,
      );
    }
    checked.push({ at: row.position, position: data.position, hash: data.hash, time: data.time });
  }
  if (options.publicKey && checked.length === 0) {
    return report({ kind: 'no-checkpoint', position: walked.head.position, stream: AUDIT_STREAM, message: `the log holds no signed checkpoint to check against the given public key (${fingerprintOf(options.publicKey)}); run 'opl audit checkpoint' on the cluster` });
  }
  return report(undefined, checked);
};
