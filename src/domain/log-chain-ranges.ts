import { GENESIS_HASH, type RawEventTuple } from './log-chain.js';

/**
 * The chain checked in parallel: the log split into position ranges, each walked on its
 * own (every row carries its link, so a range needs nothing from the one before to check
 * its own rows), and the ranges then stitched together. A range only says whether it is
 * whole; where anything is wrong the caller walks the log again in one piece, which
 * names the first fault in the operator's words. So this file decides only "intact",
 * never what is wrong: parallelism speeds up the common case and changes no report.
 */
export interface RangeSummary {
  from: number;
  to: number;
  /** Every row in from..to was there once, in order, matched its hash, linked to the one before, and each stream's revisions ran on by one. */
  whole: boolean;
  /** The previous hash the first row names, and the last row's hash. */
  firstPrevHash: string;
  lastHash: string;
  /** Per stream met in the range: its first and last revision there (same order in the three). */
  streams: string[];
  firstRevisions: number[];
  lastRevisions: number[];
  /** The rows of the audit stream (checkpoints, keys), in order: few, and read by the caller. */
  auditRows: RawEventTuple[];
}

export interface StitchedChain {
  checked: number;
  head: { position: number; hash: string };
  auditRows: RawEventTuple[];
}

/** Splits 1..end into at most `parts` ranges of nearly equal length. */
export const positionRanges = (end: number, parts: number): { from: number; to: number }[] => {
  if (end < 1) return [];
  const count = Math.max(1, Math.min(parts, end));
  const size = Math.ceil(end / count);
  const ranges: { from: number; to: number }[] = [];
  for (let from = 1; from <= end; from += size) ranges.push({ from, to: Math.min(end, from + size - 1) });
  return ranges;
};

/**
 * The ranges, in order, as one chain from the genesis to `end`: each whole, each
 * beginning where the one before ended, each stream's first revision in a range one past
 * its last before it, and no stream head past what the log holds. Undefined otherwise.
 */
export const stitchRanges = (ranges: readonly RangeSummary[], end: number, streamHeads: ReadonlyMap<string, number>): StitchedChain | undefined => {
  let next = 1;
  let lastHash = GENESIS_HASH;
  const lastRevision = new Map<string, number>();
  const auditRows: RawEventTuple[] = [];
  for (const range of ranges) {
    if (!range.whole || range.from !== next || range.to < range.from || range.firstPrevHash !== lastHash) return undefined;
    for (let i = 0; i < range.streams.length; i++) {
      const stream = range.streams[i]!;
      if (range.firstRevisions[i] !== (lastRevision.get(stream) ?? -1) + 1) return undefined;
      lastRevision.set(stream, range.lastRevisions[i]!);
    }
    for (const row of range.auditRows) auditRows.push(row);
    next = range.to + 1;
    lastHash = range.lastHash;
  }
  if (next !== end + 1) return undefined;
  for (const [stream, head] of streamHeads) if (head > (lastRevision.get(stream) ?? -1)) return undefined;
  return { checked: end, head: { position: end, hash: lastHash }, auditRows };
};
