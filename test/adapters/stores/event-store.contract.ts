import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { filter, firstValueFrom, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  FencedError,
  IdempotencyConflictError,
  WrongExpectedRevisionError,
  type EventStore,
  type NewEvent,
  type RecordedEvent,
} from '../../../src/domain/ports/event-store.js';

import { chainFault } from './event-store-chain.contract.js';

const writerScript = fileURLToPath(new URL('../../fixtures/store-writer.mjs', import.meta.url));
const fencedWriterScript = fileURLToPath(new URL('../../fixtures/fenced-writer.mjs', import.meta.url));

export interface StoreUnderTest {
  open: () => Promise<EventStore>;
  /** A URL another process can open the same store with; absent for in-memory stores. */
  url?: string;
}

export const newEvent = (type: string, data: unknown = {}): NewEvent => ({
  id: randomUUID(),
  type,
  data,
  metadata: { actor: 'contract', recordedAt: new Date().toISOString() },
});

const collect = async (events: AsyncIterable<RecordedEvent>): Promise<RecordedEvent[]> => {
  const out: RecordedEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
};

/** A fenced-writer fixture appending under lease `lease` as `holder`, and what it printed so far. */
export interface FencedWriter {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
  /** Resolves once it acknowledged 20 appends: it is appending steadily. Bounded; rejects if it exits first. */
  appendingSteadily: () => Promise<void>;
}

export const startFencedWriter = (url: string, lease: string, holder: string): FencedWriter => {
  const child = spawn(process.execPath, [fencedWriterScript, url, lease, holder], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const appendingSteadily = async () => {
    const end = Date.now() + 45_000;
    while ((out.match(/^ack /gm)?.length ?? 0) < 20) {
      if (Date.now() > end || child.exitCode !== null) throw new Error(`the writer did not get going: ${out}${err}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return { child, out: () => out, err: () => err, exited, appendingSteadily };
};

interface Writer {
  child: ChildProcess;
  /** Event id to position, for every append the writer saw committed (it prints one line each). */
  acknowledged: Map<string, bigint>;
  /** Resolves once the writer has acknowledged at least `count` appends; rejects past the deadline or if it exits first. */
  acknowledgedAtLeast: (count: number, deadlineMs: number) => Promise<void>;
  exited: Promise<{ code: number | null; acknowledged: Map<string, bigint> }>;
}

const startWriter = (url: string, writer: number, count: number): Writer => {
  const child = spawn(process.execPath, [writerScript, url, String(writer), String(count)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const acknowledged = new Map<string, bigint>();
  const progress = new EventEmitter();
  let buffer = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop()!;
    for (const line of lines) {
      const [id, position] = line.split(' ');
      acknowledged.set(id!, BigInt(position!));
    }
    progress.emit('acknowledged');
  });
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<{ code: number | null; acknowledged: Map<string, bigint> }>((resolve, reject) => {
    child.on('error', reject);
    // 'close', not 'exit': only then has every line the writer printed been read.
    child.on('close', (code) => {
      progress.emit('exit');
      if (code !== 0 && code !== null) reject(new Error(`writer ${writer} failed: ${stderr}`));
      else resolve({ code, acknowledged });
    });
  });
  exited.catch(() => undefined); // a failed writer is reported by whoever awaits it, not as unhandled
  // Event-driven rather than timed: under load the writer may take seconds just to start.
  const acknowledgedAtLeast = (wanted: number, deadlineMs: number) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (acknowledged.size < wanted) return;
        stop();
        resolve();
      };
      const exitedFirst = () => {
        stop();
        reject(new Error(`writer ${writer} exited after ${acknowledged.size} of ${wanted} appends: ${stderr}`));
      };
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`writer ${writer} acknowledged only ${acknowledged.size} of ${wanted} appends in ${deadlineMs} ms: ${stderr}`));
      }, deadlineMs);
      const stop = () => {
        clearTimeout(timer);
        progress.off('acknowledged', check);
        progress.off('exit', exitedFirst);
      };
      progress.on('acknowledged', check);
      progress.on('exit', exitedFirst);
      check();
    });
  return { child, acknowledged, acknowledgedAtLeast, exited };
};

const runWriter = (url: string, writer: number, count: number) => startWriter(url, writer, count).exited;

/** `crossProcess`: the store can be opened by other processes, so the multi-process points apply. */
export const describeEventStoreContract = (
  name: string,
  setup: () => Promise<StoreUnderTest>,
  { crossProcess }: { crossProcess: boolean },
): void => {
  describe(`event store contract: ${name}`, () => {
    const withStore = async (fn: (store: EventStore, sut: StoreUnderTest) => Promise<void>): Promise<void> => {
      const sut = await setup();
      const store = await sut.open();
      try {
        await fn(store, sut);
      } finally {
        await store.close();
      }
    };

    it('appends to a new stream and reads it back with revisions and positions', () =>
      withStore(async (store) => {
        const first = await store.append('s-1', [newEvent('A', { n: 1 }), newEvent('B', { n: 2 })], 'no_stream');
        expect(first).toEqual({ nextRevision: 1n, position: 2n });
        const second = await store.append('s-2', [newEvent('C')], 'no_stream');
        expect(second).toEqual({ nextRevision: 0n, position: 3n });
        const read = await collect(store.readStream('s-1'));
        expect(read.map((e) => [e.type, e.revision, e.position, e.data])).toEqual([
          ['A', 0n, 1n, { n: 1 }],
          ['B', 1n, 2n, { n: 2 }],
        ]);
        expect(read[0]!.metadata.actor).toBe('contract');
        expect(await collect(store.readStream('s-1', 1n))).toHaveLength(1);
        expect(await collect(store.readStream('missing'))).toEqual([]);
      }));

    it('enforces expected revisions: no_stream, stream_exists, exact, any', () =>
      withStore(async (store) => {
        await store.append('s', [newEvent('A')], 'no_stream');
        await expect(store.append('s', [newEvent('A')], 'no_stream')).rejects.toBeInstanceOf(WrongExpectedRevisionError);
        await expect(store.append('other', [newEvent('A')], 'stream_exists')).rejects.toBeInstanceOf(
          WrongExpectedRevisionError,
        );
        await expect(store.append('other', [newEvent('A')], 0n)).rejects.toBeInstanceOf(WrongExpectedRevisionError);
        await expect(store.append('s', [newEvent('A')], 1n)).rejects.toBeInstanceOf(WrongExpectedRevisionError);
        expect(await store.append('s', [newEvent('A')], 0n)).toMatchObject({ nextRevision: 1n });
        expect(await store.append('s', [newEvent('A')], 'stream_exists')).toMatchObject({ nextRevision: 2n });
        expect(await store.append('s', [newEvent('A')], 'any')).toMatchObject({ nextRevision: 3n });
        // A refused append writes nothing at all.
        expect(await collect(store.readAll())).toHaveLength(4);
        expect(await collect(store.readStream('other'))).toEqual([]);
      }));

    it('answers a retried append of the same event ids with the first result, writing nothing', () =>
      withStore(async (store) => {
        const batch = [newEvent('A'), newEvent('B')];
        const first = await store.append('s', batch, 'no_stream');
        const retry = await store.append('s', batch, 'no_stream');
        expect(retry).toEqual(first);
        expect(await collect(store.readAll())).toHaveLength(2);
        await expect(store.append('t', [batch[0]!], 'any')).rejects.toBeInstanceOf(IdempotencyConflictError);
        await expect(store.append('s', [batch[1]!, newEvent('C')], 'any')).rejects.toBeInstanceOf(
          IdempotencyConflictError,
        );
        expect(await collect(store.readAll())).toHaveLength(2);
      }));

    it('reads the whole log in global order, from a position, bounded and filtered', () =>
      withStore(async (store) => {
        await store.append('job-1', [newEvent('X')], 'any');
        await store.append('cluster', [newEvent('Y'), newEvent('Z')], 'any');
        await store.append('job-2', [newEvent('X')], 'any');
        const all = await collect(store.readAll());
        expect(all.map((e) => e.position)).toEqual([1n, 2n, 3n, 4n]);
        expect((await collect(store.readAll(3n))).map((e) => e.position)).toEqual([3n, 4n]);
        expect(await collect(store.readAll(1n, { maxCount: 2 }))).toHaveLength(2);
        expect((await collect(store.readAll(1n, { filter: { streamPrefix: 'job-' } }))).map((e) => e.stream)).toEqual([
          'job-1',
          'job-2',
        ]);
        expect((await collect(store.readAll(1n, { filter: { types: ['Z', 'X'] } }))).map((e) => e.type)).toEqual([
          'X',
          'Z',
          'X',
        ]);
      }));

    it('reads past one page of events', () =>
      withStore(async (store) => {
        for (let i = 0; i < 5; i++) {
          await store.append('big', Array.from({ length: 1000 }, (_, j) => newEvent('N', { i, j })), 'any');
        }
        const all = await collect(store.readAll());
        expect(all).toHaveLength(5000);
        const pages: (readonly RecordedEvent[])[] = [];
        for await (const page of store.readAllPages(1n)) pages.push(page);
        expect(pages.length).toBeGreaterThan(1);
        expect(pages.flat().map((e) => e.id)).toEqual(all.map((e) => e.id));
        const bounded: RecordedEvent[] = [];
        for await (const page of store.readAllPages(4001n, { maxCount: 10 })) bounded.push(...page);
        expect(bounded.map((e) => e.position)).toEqual(Array.from({ length: 10 }, (_, i) => BigInt(4001 + i)));
        expect(all[4999]!.position).toBe(5000n);
        const stream = await collect(store.readStream('big', 10n));
        expect(stream).toHaveLength(4990);
        expect(stream[0]!.revision).toBe(10n);
      }));

    it('subscribes: catch-up from a position, then live events, in order', () =>
      withStore(async (store) => {
        await store.append('s', [newEvent('A'), newEvent('B')], 'any');
        const seen = firstValueFrom(store.subscribeAll(2n).pipe(take(3), toArray()));
        await store.append('s', [newEvent('C')], 'any');
        await store.append('t', [newEvent('D')], 'any');
        expect((await seen).map((e) => [e.type, e.position])).toEqual([
          ['B', 2n],
          ['C', 3n],
          ['D', 4n],
        ]);
      }));

    it('keeps leases exclusive until released or judged gone', () =>
      withStore(async (store) => {
        const lease = (holder: string) => ({ holder, pid: 1, host: 'h', expiresAt: Date.now() + 60_000 });
        expect(await store.leases.tryAcquire('leader', lease('a'), () => false)).toBe(1n);
        expect(await store.leases.tryAcquire('leader', lease('b'), () => false)).toBeNull();
        expect(await store.leases.tryAcquire('leader', lease('a'), () => false)).toBe(1n);
        expect((await store.leases.current('leader'))?.holder).toBe('a');
        expect(await store.leases.tryAcquire('leader', lease('b'), (current) => current.holder === 'a')).toBe(2n);
        await store.leases.release('leader', 'a');
        expect((await store.leases.current('leader'))?.holder).toBe('b');
        await store.leases.release('leader', 'b');
        expect(await store.leases.current('leader')).toBeNull();
      }));

    it('raises the fencing token at every take-over and keeps it on renewal, across releases', () =>
      withStore(async (store) => {
        const lease = (holder: string) => ({ holder, pid: 1, host: 'h', expiresAt: Date.now() + 60_000 });
        const gone = () => true;
        expect(await store.leases.tryAcquire('leader', lease('a'), gone)).toBe(1n);
        expect(await store.leases.tryAcquire('leader', lease('a'), gone)).toBe(1n);
        expect(await store.leases.current('leader')).toMatchObject({ holder: 'a', epoch: 1n });
        expect(await store.leases.tryAcquire('leader', lease('b'), gone)).toBe(2n);
        expect(await store.leases.tryAcquire('leader', lease('b'), gone)).toBe(2n);
        // Released and taken again, even by the same holder: a new epoch, not a renewal.
        await store.leases.release('leader', 'b');
        expect(await store.leases.tryAcquire('leader', lease('b'), gone)).toBe(3n);
        expect(await store.leases.tryAcquire('leader', lease('a'), gone)).toBe(4n);
        // Leases are independent of each other.
        expect(await store.leases.tryAcquire('other', lease('a'), gone)).toBe(1n);
        expect((await store.leases.current('leader'))?.epoch).toBe(4n);
      }));

    it('refuses, atomically, an append fenced with an older token; unfenced and current ones are accepted', () =>
      withStore(async (store) => {
        const lease = (holder: string) => ({ holder, pid: 1, host: 'h', expiresAt: Date.now() + 60_000 });
        const first = (await store.leases.tryAcquire('leader', lease('a'), () => false))!;
        const stale = { fence: { lease: 'leader', token: first } };
        await store.append('s', [newEvent('A')], 'any', stale);
        const second = (await store.leases.tryAcquire('leader', lease('b'), () => true))!;
        expect(second).toBeGreaterThan(first);
        const before = await collect(store.readAll());
        const batch = [newEvent('B', { n: 1 }), { ...newEvent('C'), metadata: { actor: 'x', recordedAt: 'now', engineId: 'engine-a' } }];
        const refused = store.append('s', batch, 'any', stale);
        await expect(refused).rejects.toBeInstanceOf(FencedError);
        await expect(store.append('new-stream', [newEvent('D')], 'no_stream', stale)).rejects.toThrow(
          /lease \(epoch 1\) was taken over \(epoch 2\): this engine may not write/,
        );
        // Nothing of either batch was written: not the events, not the stream heads.
        expect(await collect(store.readAll())).toEqual(before);
        await expect(store.append('new-stream', [newEvent('D')], 'no_stream')).resolves.toMatchObject({ nextRevision: 0n });
        // The new holder's token is current; an unfenced client write (a submit) is always accepted.
        await store.append('s', [newEvent('E')], 0n, { fence: { lease: 'leader', token: second } });
        await store.append('s', [newEvent('F')], 'any');
        expect((await collect(store.readStream('s'))).map((e) => e.type)).toEqual(['A', 'E', 'F']);
        // A fence on a lease nobody ever took is at epoch 0: any token passes.
        await store.append('s', [newEvent('G')], 'any', { fence: { lease: 'unused', token: 1n } });
        // The error says whose write it was when the events carry an engine id.
        const error = await store.append('s', batch, 'any', stale).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(FencedError);
        expect(error).toMatchObject({ token: first, current: second });
        expect((error as Error).message).toBe("engine engine-a's lease (epoch 1) was taken over (epoch 2): this engine may not write");
      }));

    it('gives concurrent in-process appends distinct, gap-free positions', () =>
      withStore(async (store) => {
        await Promise.all(
          Array.from({ length: 20 }, (_, w) =>
            (async () => {
              for (let i = 0; i < 10; i++) await store.append(`w-${w}`, [newEvent('W', { w, i })], 'any');
            })(),
          ),
        );
        const all = await collect(store.readAll());
        expect(all.map((e) => e.position)).toEqual(Array.from({ length: 200 }, (_, i) => BigInt(i + 1)));
      }));

    if (!crossProcess) return;

    it('with concurrent writer processes, a live subscriber sees every position exactly once, in order', async () => {
      const sut = await setup();
      const store = await sut.open();
      try {
        const writers = 4;
        const perWriter = 150;
        const total = writers * perWriter;
        const seen = firstValueFrom(store.subscribeAll(1n).pipe(take(total), toArray()));
        const runs = await Promise.all(Array.from({ length: writers }, (_, w) => runWriter(sut.url!, w, perWriter)));
        const events = await seen;
        expect(events.map((e) => e.position)).toEqual(Array.from({ length: total }, (_, i) => BigInt(i + 1)));
        const acknowledged = new Map(runs.flatMap((r) => [...r.acknowledged]));
        expect(acknowledged.size).toBe(total);
        for (const e of events) expect(acknowledged.get(e.id)).toBe(e.position);
        const shared = await collect(store.readStream('shared'));
        expect(shared.map((e) => e.revision)).toEqual(shared.map((_, i) => BigInt(i)));
        // Several processes appending at once still write one unbroken hash chain.
        expect(await chainFault(store)).toBeUndefined();
      } finally {
        await store.close();
      }
    });

    it('refuses a writer process fenced by a take-over from the first append after it, whole batches only', async () => {
      const sut = await setup();
      const store = await sut.open();
      const writer = startFencedWriter(sut.url!, 'leader', 'engine-w');
      const { child, exited } = writer;
      try {
        // Event-driven, bounded: once the writer is appending steadily, take its lease over under it.
        await writer.appendingSteadily();
        const token = await store.leases.tryAcquire('leader', { holder: 'usurper', pid: 1, host: 'h', expiresAt: Date.now() + 60_000 }, () => true);
        const head = await collect(store.readAll());
        expect(await exited, writer.err()).toBe(0);
        // The one line that matters, on its own: a diff of hundreds of acks hides it.
        const fenced = writer.out().split('\n').find((line) => line.startsWith('fenced '));
        expect(fenced, `the writer's last lines: ${writer.out().split('\n').slice(-4).join(' | ')}`).toBe(`fenced engine engine-w's lease (epoch ${token! - 1n}) was taken over (epoch ${token}): this engine may not write`);
        const written = (await collect(store.readAll())).filter((e) => e.stream === 'fenced-engine-w');
        // Nothing committed after the take-over, and nothing of a refused batch.
        expect(written).toEqual(head.filter((e) => e.stream === 'fenced-engine-w'));
        expect(written.length % 3).toBe(0);
        const acked = [...writer.out().matchAll(/^ack (\d+)$/gm)].map((m) => BigInt(m[1]!));
        expect(acked).toEqual(written.filter((_, i) => i % 3 === 2).map((e) => e.position));
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
        await store.close();
      }
    });

    it('keeps every acknowledged append when a writer process is killed with SIGKILL', async () => {
      const sut = await setup();
      const writer = startWriter(sut.url!, 9, 100_000);
      // Kill it mid-stream: once it has acknowledged some appends, while it keeps appending.
      await writer.acknowledgedAtLeast(25, 45_000);
      writer.child.kill('SIGKILL');
      const { code, acknowledged } = await writer.exited;
      expect(code).toBeNull();
      expect(acknowledged.size).toBeGreaterThan(0);
      const store = await sut.open();
      try {
        const all = await collect(store.readAll());
        expect(all.map((e) => e.position)).toEqual(all.map((_, i) => BigInt(i + 1)));
        const stored = new Map(all.map((e) => [e.id, e.position]));
        for (const [id, position] of acknowledged) expect(stored.get(id)).toBe(position);
        expect(await chainFault(store)).toBeUndefined();
        // The store still takes appends after the crash.
        await store.append('after-crash', [newEvent('A')], 'no_stream');
        const tail = await collect(store.readAll(BigInt(all.length + 1)));
        expect(tail.map((e) => e.type)).toEqual(['A']);
        expect(await firstValueFrom(store.subscribeAll(1n).pipe(filter((e) => e.stream === 'after-crash'))))
          .toMatchObject({ position: BigInt(all.length + 1) });
      } finally {
        await store.close();
      }
    });
  });
};
