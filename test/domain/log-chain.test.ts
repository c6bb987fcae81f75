import { describe, expect, it } from 'vitest';
import { GENESIS_HASH, chainHash, chainRows, tupleOfRow, walkChain, type ChainFault, type RawEventRow } from '../../src/domain/log-chain.js';

const log = (n: number): RawEventRow[] =>
  chainRows(
    Array.from({ length: n }, (_, i) => ({ position: i + 1, stream: `s-${i % 2}`, revision: Math.floor(i / 2), id: `e${i + 1}`, type: 'T', data: `{"i":${i}}`, metadata: '{}' })),
    GENESIS_HASH,
  );

const firstFault = (rows: RawEventRow[], heads = new Map<string, number>()) => {
  const walk = walkChain();
  for (const row of rows) {
    const fault = walk.step(row);
    if (fault) return fault;
  }
  return walk.finish(heads);
};

describe('the log hash chain', () => {
  it('hashes every field and the previous hash: changing any of them changes the hash', () => {
    const [row] = log(1);
    const base = chainHash(row!, GENESIS_HASH);
    expect(base).toBe(row!.hash);
    for (const change of [{ position: 2 }, { stream: 's-9' }, { revision: 1 }, { id: 'e9' }, { type: 'U' }, { data: '{"i":1}' }, { metadata: '{"a":1}' }]) {
      expect(chainHash({ ...row!, ...change }, GENESIS_HASH)).not.toBe(base);
    }
    expect(chainHash(row!, 'f'.repeat(64))).not.toBe(base);
    // Moving text from one field to the next is not the same row.
    expect(chainHash({ ...row!, stream: 'ab', id: 'c' }, GENESIS_HASH)).not.toBe(chainHash({ ...row!, stream: 'a', id: 'bc' }, GENESIS_HASH));
  });

  it('walks an intact log to its head', () => {
    const rows = log(6);
    const walk = walkChain();
    for (const row of rows) expect(walk.step(row)).toBeUndefined();
    expect(walk.finish(new Map([['s-0', 2], ['s-1', 2]]))).toBeUndefined();
    expect(walk.checked).toBe(6);
    expect(walk.head).toEqual({ position: 6, hash: rows[5]!.hash });
  });

  it('names a link that skips to an earlier event as a duplicate, and a foreign link as a mismatch', () => {
    const rows = log(4);
    // Event 3 rewritten to follow event 1 again, with a hash of its own that matches.
    const dup = { ...rows[2]!, prevHash: rows[0]!.hash };
    expect(firstFault([rows[0]!, rows[1]!, { ...dup, hash: chainHash(dup, dup.prevHash) }])).toMatchObject({ kind: 'duplicate', position: 3 });
    const foreign = { ...rows[2]!, prevHash: 'a'.repeat(64) };
    expect(firstFault([rows[0]!, rows[1]!, { ...foreign, hash: chainHash(foreign, foreign.prevHash) }])).toMatchObject({
      kind: 'previous-hash-mismatch',
      position: 3,
      stream: 's-0',
      message: 'position 3 (stream s-0): its previous hash does not match position 2: an event before it was changed, inserted or reordered',
    });
  });

  it('names stream revisions that repeat or skip even where the chain was recomputed', () => {
    const rows = log(4).map((r) => ({ ...r, revision: r.position === 3 ? 0 : r.revision }));
    const rechained = chainRows(rows, GENESIS_HASH);
    expect(firstFault(rechained)).toMatchObject({ kind: 'duplicate', position: 3, stream: 's-0' });
    const skipped = chainRows(log(4).map((r) => ({ ...r, revision: r.position === 3 ? 5 : r.revision })), GENESIS_HASH);
    expect(firstFault(skipped)).toMatchObject({ kind: 'revision-gap', position: 3 });
  });

  it('names a log that ends before its streams\' heads', () => {
    const rows = log(6).slice(0, 5);
    expect(firstFault(rows, new Map([['s-0', 2], ['s-1', 2]]))).toMatchObject({ kind: 'truncated', position: 6, stream: 's-1' });
  });

  it('walks rows given as tuples exactly as rows given as objects: the same fault at the same place', () => {
    const byTuples = (rows: RawEventRow[], heads: Map<string, number>): ChainFault | undefined => {
      const walk = walkChain();
      for (const row of rows) {
        const fault = walk.stepTuple(tupleOfRow(row));
        if (fault) return fault;
      }
      return walk.finish(heads);
    };
    const rows = log(6);
    const heads = new Map([['s-0', 2], ['s-1', 2]]);
    const rechain = (change: (r: RawEventRow) => RawEventRow) => chainRows(log(6).map(change), GENESIS_HASH);
    const variants: [string, RawEventRow[]][] = [
      ['intact', rows],
      ['changed', rows.map((r) => (r.position === 4 ? { ...r, data: '{"i":99}' } : r))],
      ['dropped', rows.filter((r) => r.position !== 3)],
      ['inserted', [...rows.slice(0, 3), rows[1]!, ...rows.slice(3)]],
      ['swapped', [rows[0]!, rows[2]!, rows[1]!, ...rows.slice(3)]],
      ['foreign link', rows.map((r) => (r.position === 5 ? { ...r, prevHash: 'a'.repeat(64) } : r))],
      ['repeated revision', rechain((r) => ({ ...r, revision: r.position === 3 ? 0 : r.revision }))],
      ['skipped revision', rechain((r) => ({ ...r, revision: r.position === 3 ? 5 : r.revision }))],
      ['truncated', rows.slice(0, 5)],
    ];
    for (const [what, variant] of variants) {
      const expected = firstFault(variant, heads);
      expect(expected === undefined, what).toBe(what === 'intact');
      expect(byTuples(variant, heads), what).toEqual(expected);
    }
  });
});
