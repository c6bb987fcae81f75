import { Observable, type Subject } from 'rxjs';
import type { ReadAllOptions, RecordedEvent } from '../../domain/ports/event-store.js';

/** One page of the global log, from `fromPosition` inclusive. */
export type ReadPage = (
  fromPosition: bigint,
  limit: number,
  filter: ReadAllOptions['filter'],
) => Promise<RecordedEvent[]> | RecordedEvent[];

const PAGE = 2000;

export async function* readPages(
  readPage: ReadPage,
  fromPosition: bigint,
  options: ReadAllOptions = {},
): AsyncIterable<RecordedEvent[]> {
  let next = fromPosition < 1n ? 1n : fromPosition;
  let remaining = options.maxCount ?? Number.POSITIVE_INFINITY;
  while (remaining > 0) {
    const want = Math.min(PAGE, remaining);
    const page = await readPage(next, want, options.filter);
    if (page.length > 0) yield page;
    if (page.length < want) return;
    remaining -= page.length;
    next = page[page.length - 1]!.position + 1n;
  }
}

export async function* readAllPaged(
  readPage: ReadPage,
  fromPosition: bigint,
  options: ReadAllOptions = {},
): AsyncIterable<RecordedEvent> {
  for await (const page of readPages(readPage, fromPosition, options)) yield* page;
}

/**
 * Catch-up, then live: pages through the log and then polls for what follows,
 * woken early when this process appends. Each position is emitted once, in order.
 */
export const pollingSubscription = (
  readPage: ReadPage,
  fromPosition: bigint,
  appended: Subject<void>,
  pollMs: number,
): Observable<RecordedEvent> =>
  new Observable<RecordedEvent>((subscriber) => {
    let next = fromPosition < 1n ? 1n : fromPosition;
    let timer: NodeJS.Timeout | undefined;
    let running = false;
    let again = false;
    let closed = false;
    const pump = async (): Promise<void> => {
      if (running) {
        again = true;
        return;
      }
      running = true;
      try {
        do {
          again = false;
          for (;;) {
            const page = await readPage(next, PAGE, undefined);
            for (const event of page) {
              if (closed) return;
              subscriber.next(event);
            }
            if (page.length === 0) break;
            next = page[page.length - 1]!.position + 1n;
            if (page.length < PAGE) break;
          }
        } while (again && !closed);
      } catch (error) {
        closed = true;
        subscriber.error(error);
        return;
      } finally {
        running = false;
      }
      if (!closed) timer = setTimeout(() => void pump(), pollMs);
    };
    const wake = appended.subscribe(() => {
      if (timer) clearTimeout(timer);
      void pump();
    });
    void pump();
    return () => {
      closed = true;
      wake.unsubscribe();
      if (timer) clearTimeout(timer);
    };
  });
