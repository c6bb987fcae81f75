import * as crypto from 'node:crypto';

/**
 * The hash chain over the global log (Certificate Transparency's idea, as a list rather
 * than a tree): every event's hash covers its stored text and the hash of the event
 * before it, so changing, dropping, inserting or reordering any event breaks the chain
 * at that event. Hashes are over the text exactly as the store holds it, so verifying
 * never re-serialises JSON (PostgreSQL's JSONB text form is what it hashes there).
 */

/** One event as stored: the text of every column, nothing parsed. */
export interface RawEventRow {
  position: number;
  stream: string;
  revision: number;
  id: string;
  type: string;
  data: string;
  metadata: string;
  prevHash: string;
  hash: string;
}

/** The same row as its columns in order: position, stream, revision, id, type, data, metadata, prev_hash, hash. */
export type RawEventTuple = readonly [number, string, number, string, string, string, string, string, string];

export const rowOfTuple = (t: RawEventTuple): RawEventRow => ({
  position: t[0], stream: t[1], revision: t[2], id: t[3], type: t[4], data: t[5], metadata: t[6], prevHash: t[7], hash: t[8],
});

export const tupleOfRow = (r: RawEventRow): RawEventTuple => [r.position, r.stream, r.revision, r.id, r.type, r.data, r.metadata, r.prevHash, r.hash];

/** The "previous hash" of the first event. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * SHA-256 of the fields joined by NUL: JSON text never holds a raw NUL, and position and
 * revision are digits, so the joined form is read back one way only for any log we write.
 */
export const chainHash = (row: Omit<RawEventRow, 'hash' | 'prevHash'>, prevHash: string): string =>
  sha256Hex(chainText(row.position, row.stream, row.revision, row.id, row.type, row.data, row.metadata, prevHash));

/** The same hash from the columns themselves, for code that has no row object to hand (the walk, SQLite's append). */
export const chainHashOf = (position: number, stream: string, revision: number, id: string, type: string, data: string, metadata: string, prevHash: string): string =>
  sha256Hex(chainText(position, stream, revision, id, type, data, metadata, prevHash));

/** The hashed text, from the columns themselves. */
const chainText = (position: number, stream: string, revision: number, id: string, type: string, data: string, metadata: string, prevHash: string): string =>
  `${position}\0${stream}\0${revision}\0${id}\0${type}\0${data}\0${metadata}\0${prevHash}`;

/** One-shot `crypto.hash` (Node 20.12+) is about twice as fast as a Hash object for rows this small. */
export const sha256Hex: (text: string) => string =
  typeof crypto.hash === 'function'
    ? (text) => crypto.hash('sha256', text, 'hex')
    : (text) => crypto.createHash('sha256').update(text).digest('hex');

/** Chains a batch after `prevHash`, in order: what every store writes with its events. */
export const chainRows = <R extends Omit<RawEventRow, 'hash' | 'prevHash'>>(
  rows: readonly R[],
  prevHash: string,
): (R & { prevHash: string; hash: string })[] => {
  let prev = prevHash;
  return rows.map((row) => {
    const hash = chainHash(row, prev);
    const chained = { ...row, prevHash: prev, hash };
    prev = hash;
    return chained;
  });
};

export type ChainFaultKind =
  | 'hash-mismatch'
  | 'position-gap'
  | 'unexpected-position'
  | 'previous-hash-mismatch'
  | 'duplicate'
  | 'revision-gap'
  | 'truncated'
  | 'witness-mismatch'
  | 'checkpoint-forged'
  | 'checkpoint-mismatch'
  | 'no-checkpoint';

/** The first place the log differs from what was written, in the operator's words. */
export interface ChainFault {
  kind: ChainFaultKind;
  position: number;
  stream: string;
  message: string;
}

export interface ChainWalk {
  /** Checks the next row in position order; the first fault stops the walk. */
  step(row: RawEventRow): ChainFault | undefined;
  /** The same as `step`, for a row as the columns' tuple (what better-sqlite3's raw mode gives). */
  stepTuple(row: RawEventTuple): ChainFault | undefined;
  /** After the last row: the stream heads the store keeps must not be past the log's end. */
  finish(streamHeads: ReadonlyMap<string, number>): ChainFault | undefined;
  readonly checked: number;
  /** Position and hash of the last row checked (0 and the genesis hash before any). */
  readonly head: { position: number; hash: string };
}

export const walkChain = (): ChainWalk => {
  let expected = 1;
  let lastHash = GENESIS_HASH;
  let beforeLastHash = '';
  let checked = 0;
  // Each stream's revisions must run 0, 1, 2… in global order: a second copy of an
  // event (with a fresh id and recomputed hashes) shows here even if the chain was redone.
  // Numbers only: a million-event log has ~250,000 streams, and an object per stream
  // is that many more allocations for the collector to carry.
  const revisions = new Map<string, number>();
  const fault = (kind: ChainFaultKind, position: number, stream: string, message: string): ChainFault => ({
    kind,
    position,
    stream,
    message: `position ${position} (stream ${stream}): ${message}`,
  });
  /**
   * The whole check on the columns themselves: stores that hand rows over as tuples
   * (SQLite) are walked without an object a row. Same checks, same order, as `step`.
   */
  const check = (
    position: number,
    stream: string,
    revision: number,
    id: string,
    type: string,
    data: string,
    metadata: string,
    prevHash: string,
    hash: string,
  ): ChainFault | undefined => {
    if (position < expected) {
      return fault('unexpected-position', position, stream, `an event at position ${position} where ${expected} was expected next: an inserted event`);
    }
    if (position > expected) {
      const missing = position - 1 === expected ? `position ${expected} is` : `positions ${expected} to ${position - 1} are`;
      return fault('position-gap', position, stream, `${missing} missing: an event was dropped`);
    }
    if (chainHashOf(position, stream, revision, id, type, data, metadata, prevHash) !== hash) {
      return fault('hash-mismatch', position, stream, 'its content differs from what was hashed when it was written (changed event)');
    }
    if (prevHash !== lastHash) {
      if (prevHash === beforeLastHash) {
        return fault('duplicate', position, stream, `it links to the same predecessor as position ${position - 1}: a duplicated or inserted event`);
      }
      const before = position === 1 ? 'the start of the log' : `position ${position - 1}`;
      return fault('previous-hash-mismatch', position, stream, `its previous hash does not match ${before}: an event before it was changed, inserted or reordered`);
    }
    const last = revisions.get(stream) ?? -1;
    if (revision !== last + 1) {
      return revision <= last
        ? fault('duplicate', position, stream, `revision ${revision} of the stream appears a second time: a duplicated event`)
        : fault('revision-gap', position, stream, `revision ${revision} follows revision ${last < 0 ? 'none' : last} of the stream: an event was dropped`);
    }
    revisions.set(stream, revision);
    beforeLastHash = lastHash;
    lastHash = hash;
    expected++;
    checked++;
    return undefined;
  };
  const finish = (streamHeads: ReadonlyMap<string, number>): ChainFault | undefined => {
    for (const [stream, head] of streamHeads) {
      const seen = revisions.get(stream) ?? -1;
      if (head > seen) {
        return {
          kind: 'truncated',
          position: expected,
          stream,
          message: `position ${expected} (stream ${stream}): the log ends at position ${expected - 1} but the stream's head is revision ${head}, last seen ${seen < 0 ? 'none' : seen}: events at its end were dropped`,
        };
      }
    }
    return undefined;
  };
  return {
    step: (row) => check(row.position, row.stream, row.revision, row.id, row.type, row.data, row.metadata, row.prevHash, row.hash),
    stepTuple: (t) => check(t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8]),
    finish,
    get checked() {
      return checked;
    },
    get head() {
      return { position: expected - 1, hash: lastHash };
    },
  };
};
