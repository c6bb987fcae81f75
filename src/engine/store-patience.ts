import { Observable } from 'rxjs';
import { StoreFailureError, type EventStore, type ReadAllOptions, type RecordedEvent, type StoreFailureKind } from '../domain/ports/event-store.js';

/** How long a process keeps trying while its store fails, per kind of failure (ms; Infinity: until it works again). */
export type Patience = Record<StoreFailureKind, number>;

/** A daemon outlives any outage; a client gives up and says so (see README, "When the store fails"). */
export const DAEMON_PATIENCE: Patience = { unavailable: Infinity, refuses_writes: Infinity };
export const CLIENT_PATIENCE: Patience = { unavailable: 20_000, refuses_writes: 3_000 };

const FIRST_PAUSE_MS = 100;
const LONGEST_PAUSE_MS = 5_000;

export interface StorePatience {
  /** Waits before the next try after FAILURE, or throws it once this process's patience has run out. */
  wait(failure: StoreFailureError): Promise<void>;
  /** The store answered: the trouble, if any, is over. */
  ok(): void;
}

/**
 * One shared account of the store's trouble for the whole process: every operation
 * that fails waits (doubling pauses up to 5 s, with jitter so that engines and clients
 * do not retry in step) counted from the first failure since the store last worked,
 * and the trouble is reported once when it begins and once when it ends — never per
 * retry: a full disk used to print the same line 150,000 times in 20 s.
 */
export const createStorePatience = (patience: Patience, report?: (message: string) => void, random: () => number = Math.random): StorePatience => {
  let since: number | undefined;
  let failures = 0;
  return {
    async wait(failure) {
      const now = Date.now();
      if (since === undefined) {
        since = now;
        failures = 0;
        const limit = patience[failure.kind];
        report?.(`${failure.message}; retrying${Number.isFinite(limit) ? ` for up to ${Math.round(limit / 1000)} s` : ' until it works again'}`);
      }
      const deadline = since + patience[failure.kind];
      if (now >= deadline) throw failure;
      const pause = Math.min(LONGEST_PAUSE_MS, FIRST_PAUSE_MS * 2 ** Math.min(failures++, 16));
      const jittered = pause / 2 + (random() * pause) / 2;
      await new Promise((resolve) => setTimeout(resolve, Math.min(jittered, deadline - now)));
    },
    ok() {
      if (since === undefined) return;
      since = undefined;
      report?.('the store works again; carrying on');
    },
  };
};

const isStoreFailure = (error: unknown): error is StoreFailureError => error instanceof StoreFailureError;

/** Runs OP until it works, pausing on store failures; anything else, and giving up, is thrown. */
export const patiently = async <T>(patience: StorePatience, op: () => Promise<T>): Promise<T> => {
  for (;;) {
    try {
      const result = await op();
      patience.ok();
      return result;
    } catch (error) {
      if (!isStoreFailure(error)) throw error;
      await patience.wait(error);
    }
  }
};

/**
 * The store, with every read and write retried through PATIENCE. Appends are safe to
 * retry as they are: the same event ids are recognised and not written twice, even
 * when the first try did commit but its answer was lost with the connection. Reads
 * resume after the last event they delivered. Methods this does not know pass through.
 */
export const patientStore = (store: EventStore, patience: StorePatience): EventStore => {
  async function* pages(from: bigint, options: ReadAllOptions = {}): AsyncIterable<readonly RecordedEvent[]> {
    let next = from;
    let remaining = options.maxCount ?? Infinity;
    for (;;) {
      try {
        const rest = Number.isFinite(remaining) ? { ...options, maxCount: remaining } : options;
        if (remaining <= 0) return;
        for await (const page of store.readAllPages(next, rest)) {
          patience.ok();
          yield page;
          if (page.length > 0) next = page[page.length - 1]!.position + 1n;
          remaining -= page.length;
        }
        patience.ok();
        return;
      } catch (error) {
        if (!isStoreFailure(error)) throw error;
        await patience.wait(error);
      }
    }
  }
  async function* events(from: bigint, options?: ReadAllOptions): AsyncIterable<RecordedEvent> {
    for await (const page of pages(from, options)) yield* page;
  }
  async function* streamEvents(stream: string, from: bigint): AsyncIterable<RecordedEvent> {
    let next = from;
    for (;;) {
      try {
        for await (const event of store.readStream(stream, next)) {
          yield event;
          next = event.revision + 1n;
        }
        patience.ok();
        return;
      } catch (error) {
        if (!isStoreFailure(error)) throw error;
        await patience.wait(error);
      }
    }
  }
  const subscribeAll = (from = 1n): Observable<RecordedEvent> =>
    new Observable<RecordedEvent>((subscriber) => {
      let next = from;
      let closed = false;
      let inner: { unsubscribe(): void } | undefined;
      const start = () => {
        inner = store.subscribeAll(next).subscribe({
          next: (event) => {
            next = event.position + 1n;
            subscriber.next(event);
          },
          complete: () => subscriber.complete(),
          error: (error: unknown) => {
            if (closed) return;
            if (!isStoreFailure(error)) return subscriber.error(error);
            patience.wait(error).then(() => !closed && start(), (gaveUp: unknown) => subscriber.error(gaveUp));
          },
        });
      };
      start();
      return () => {
        closed = true;
        inner?.unsubscribe();
      };
    });
  return {
    ...store,
    // The fence goes with every retry: a write refused for an older token is never retried.
    append: (stream, batch, expected, options) => patiently(patience, () => store.append(stream, batch, expected, options)),
    readStream: (stream, from = 0n) => streamEvents(stream, from),
    readAll: (from = 1n, options) => events(from, options),
    readAllPages: (from = 1n, options) => pages(from, options),
    subscribeAll,
    leases: {
      ...store.leases,
      tryAcquire: (name, candidate, canTake) => patiently(patience, () => store.leases.tryAcquire(name, candidate, canTake)),
      current: (name) => patiently(patience, () => store.leases.current(name)),
    },
  };
};
