import { describe, expect, it } from 'vitest';
import { GENESIS_HASH, chainHash, walkChain, type RawEventRow } from '../../../src/domain/log-chain.js';
import type { EventStore } from '../../../src/domain/ports/event-store.js';
import { newEvent, type StoreUnderTest } from './event-store.contract.js';

const rawRows = async (store: EventStore, after?: number, pageSize?: number): Promise<RawEventRow[][]> => {
  const pages: RawEventRow[][] = [];
  for await (const page of store.audit.readRawPages(after, pageSize)) pages.push(page);
  return pages;
};

/** What `audit verify` concludes about the store's log: undefined when it is intact. */
export const chainFault = async (store: EventStore): Promise<string | undefined> => {
  const walk = walkChain();
  for (const page of await rawRows(store)) {
    for (const row of page) {
      const fault = walk.step(row);
      if (fault) return fault.message;
    }
  }
  return walk.finish(await store.audit.streamHeads())?.message;
};

/** The hash chain every store writes with its events, in the same transaction. */
export const describeChainContract = (name: string, setup: () => Promise<StoreUnderTest>, options: { sharedOpen?: boolean } = {}): void => {
  describe(`event store chain contract: ${name}`, () => {
    const withStore = async (fn: (store: EventStore) => Promise<void>): Promise<void> => {
      const store = await (await setup()).open();
      try {
        await fn(store);
      } finally {
        await store.close();
      }
    };

    it('links every event to the one before, hashing its stored text', () =>
      withStore(async (store) => {
        const odd = { name: 'zé ✓', nested: { b: [1, 2.5, null], a: 'quote " and \\ backslash' }, n: 10 };
        await store.append('s', [newEvent('A', odd), newEvent('B', { n: 2 })], 'no_stream');
        await store.append('t', [newEvent('C')], 'no_stream');
        await store.append('s', [newEvent('D', { n: 4 })], 1n);
        const rows = (await rawRows(store)).flat();
        expect(rows.map((r) => [r.position, r.stream, r.revision, r.type])).toEqual([
          [1, 's', 0, 'A'],
          [2, 's', 1, 'B'],
          [3, 't', 0, 'C'],
          [4, 's', 2, 'D'],
        ]);
        expect(rows[0]!.prevHash).toBe(GENESIS_HASH);
        rows.forEach((row, i) => {
          if (i > 0) expect(row.prevHash).toBe(rows[i - 1]!.hash);
          expect(row.hash).toMatch(/^[0-9a-f]{64}$/);
          expect(chainHash(row, row.prevHash)).toBe(row.hash);
        });
        // The hashed text is the stored text: it parses back to what was appended.
        expect(JSON.parse(rows[0]!.data)).toEqual(odd);
        expect(JSON.parse(rows[0]!.metadata)).toMatchObject({ actor: 'contract' });
        expect(await store.audit.rawAt(3)).toEqual(rows[2]);
        expect(await store.audit.rawAt(99)).toBeUndefined();
        expect(await store.audit.streamHeads()).toEqual(new Map([['s', 2], ['t', 0]]));
        expect(await chainFault(store)).toBeUndefined();
      }));

    it('keeps one unbroken chain under concurrent appends and retried batches', () =>
      withStore(async (store) => {
        const retried = [newEvent('R'), newEvent('R')];
        await Promise.all(
          Array.from({ length: 10 }, (_, w) =>
            (async () => {
              for (let i = 0; i < 5; i++) await store.append(`w-${w}`, i === 2 && w === 0 ? retried : [newEvent('W', { w, i })], 'any');
              if (w === 0) await store.append('w-0', retried, 'any');
            })(),
          ),
        );
        const rows = (await rawRows(store)).flat();
        expect(rows).toHaveLength(51);
        expect(await chainFault(store)).toBeUndefined();
      }));

    // A store may keep the head it last wrote; a second writer on the same log moves it.
    if (options.sharedOpen) it('links to the head another writer appended, not to the one it last wrote itself', async () => {
      const under = await setup();
      const [a, b] = [await under.open(), await under.open()];
      try {
        const retried = [newEvent('R')];
        await a.append('a', [newEvent('A'), newEvent('A'), newEvent('A')], 'no_stream');
        await b.append('b', [newEvent('B')], 'no_stream');
        await a.append('a', [newEvent('A'), newEvent('A')], 2n); // a's own head is one behind
        await b.append('b', retried, 0n);
        await b.append('b', retried, 0n); // replayed: writes nothing, moves no head
        await a.append('a', [newEvent('A')], 4n);
        await b.append('b', [newEvent('B')], 1n);
        const rows = (await rawRows(a)).flat();
        expect(rows.map((r) => `${r.position}${r.stream}`)).toEqual(['1a', '2a', '3a', '4b', '5a', '6a', '7b', '8a', '9b']);
        expect(await chainFault(a)).toBeUndefined();
        expect(await chainFault(b)).toBeUndefined();
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('pages the raw log from any position, rows below 1 included', () =>
      withStore(async (store) => {
        for (let i = 0; i < 5; i++) await store.append('p', Array.from({ length: 5 }, () => newEvent('P')), 'any');
        expect((await rawRows(store, undefined, 10)).map((p) => p.length)).toEqual([10, 10, 5]);
        expect((await rawRows(store, 20, 10)).flat().map((r) => r.position)).toEqual([21, 22, 23, 24, 25]);
        expect(await rawRows(store, 25)).toEqual([]);
      }));
  });
};
