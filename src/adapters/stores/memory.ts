import { Subject } from 'rxjs';
import {
  checkExpectedRevision,
  checkFence,
  type AppendOptions,
  revisionAfter,
  type AppendResult,
  type EventStore,
  type ExpectedRevision,
  type HeldLease,
  type LeaseStore,
  type NewEvent,
  type RecordedEvent,
} from '../../domain/ports/event-store.js';
import { GENESIS_HASH, chainHash, type RawEventRow } from '../../domain/log-chain.js';
import { replayedAppendResult } from './idempotency.js';
import { pollingSubscription, readAllPaged, readPages, type ReadPage } from './paging.js';

/** The event store in this process's memory: for tests and tools, never for a cluster. */
export const createMemoryEventStore = (): EventStore => {
  const log: RecordedEvent[] = [];
  // The text the chain covers: what a store on disk would hold for each event.
  const raw: RawEventRow[] = [];
  const streams = new Map<string, RecordedEvent[]>();
  const byId = new Map<string, RecordedEvent>();
  const appended = new Subject<void>();
  const leaseTable = new Map<string, HeldLease>();
  /** Epochs outlive releases: a lease taken again is a take-over. */
  const epochs = new Map<string, bigint>();

  const append = async (
    stream: string,
    events: readonly NewEvent[],
    expected: ExpectedRevision,
    options?: AppendOptions,
  ): Promise<AppendResult> => {
    if (events.length === 0) throw new Error('append: no events given');
    if (options?.fence) checkFence(options.fence, epochs.get(options.fence.lease) ?? 0n, events);
    const replayed = replayedAppendResult(stream, events, events.map((e) => byId.get(e.id)));
    if (replayed) return replayed;
    const existing = streams.get(stream);
    const actual = existing && existing.length > 0 ? BigInt(existing.length - 1) : 'no_stream';
    checkExpectedRevision(stream, expected, actual);
    const target = existing ?? [];
    let revision = revisionAfter(actual);
    for (const event of events) {
      const recorded: RecordedEvent = {
        ...structuredClone(event),
        stream,
        revision: revision++,
        position: BigInt(log.length + 1),
      };
      log.push(recorded);
      const text = { position: log.length, stream, revision: Number(recorded.revision), id: event.id, type: event.type, data: JSON.stringify(event.data), metadata: JSON.stringify(event.metadata) };
      const prevHash = raw[raw.length - 1]?.hash ?? GENESIS_HASH;
      raw.push({ ...text, prevHash, hash: chainHash(text, prevHash) });
      target.push(recorded);
      byId.set(event.id, recorded);
    }
    streams.set(stream, target);
    if (events.length > 0) appended.next();
    const last = log[log.length - 1]!;
    return { nextRevision: last.revision, position: last.position };
  };

  const readPage: ReadPage = (from, limit, filter) => {
    const page: RecordedEvent[] = [];
    for (let i = Number(from) - 1; i < log.length && page.length < limit; i++) {
      const e = log[i]!;
      if (filter?.streamPrefix && !e.stream.startsWith(filter.streamPrefix)) continue;
      if (filter?.types && !filter.types.includes(e.type)) continue;
      page.push(e);
    }
    return page;
  };

  const leases: LeaseStore = {
    tryAcquire: async (name, candidate, canTake) => {
      const current = leaseTable.get(name);
      if (current && current.holder !== candidate.holder && !canTake(current)) return null;
      const epoch = current?.holder === candidate.holder ? current.epoch : (epochs.get(name) ?? 0n) + 1n;
      epochs.set(name, epoch);
      leaseTable.set(name, { ...candidate, epoch });
      return epoch;
    },
    release: async (name, holder) => {
      if (leaseTable.get(name)?.holder === holder) leaseTable.delete(name);
    },
    current: async (name) => leaseTable.get(name) ?? null,
  };

  return {
    append,
    readStream: async function* (stream, fromRevision = 0n) {
      for (const e of streams.get(stream) ?? []) if (e.revision >= fromRevision) yield e;
    },
    readAll: (fromPosition = 1n, options) => readAllPaged(readPage, fromPosition, options),
    readAllPages: (fromPosition = 1n, options) => readPages(readPage, fromPosition, options),
    subscribeAll: (fromPosition = 1n) => pollingSubscription(readPage, fromPosition, appended, 50),
    leases,
    audit: {
      readRawPages: async function* (afterPosition = Number.MIN_SAFE_INTEGER, pageSize = 10_000) {
        for (let i = Math.max(0, afterPosition); i < raw.length; i += pageSize) yield raw.slice(i, i + pageSize);
      },
      rawAt: async (position) => raw[position - 1],
      streamHeads: async () => new Map([...streams].map(([name, events]) => [name, events.length - 1])),
    },
    close: async () => appended.complete(),
  };
};
