import { Observable, defer, map, share } from 'rxjs';
import type { EventStore, RecordedEvent } from '../domain/ports/event-store.js';
import { emptyViews, evolveViews, type Views } from './views.js';

/** Views kept in step with a store: pulled on demand (`catchUp`) or pushed (`live`). */
export interface Projector {
  readonly views: Views;
  catchUp(): Promise<Views>;
  /** Resolves once every event up to `position` is folded in (read-your-writes). */
  reach(position: bigint): Promise<Views>;
  /** Every event after the views' position when the feed starts; the views are updated first. */
  live(): Observable<RecordedEvent>;
}

/** The views would silently stop at a missing position: serving them would hide the loss. */
export class LogGapError extends Error {
  override readonly name = 'LogGapError';
}

const checkNext = (position: bigint, event: RecordedEvent): void => {
  if (event.position !== position + 1n) {
    throw new LogGapError(
      `the log has a gap: position ${position + 1n} is missing (the next event is at ${event.position}, stream ${event.stream}); the views stop at ${position}. Run 'opl audit verify'`,
    );
  }
};

export const createProjector = (store: EventStore, initial: Views = emptyViews()): Projector => {
  const views = initial;
  let running: Promise<Views> = Promise.resolve(views);
  let queued: Promise<Views> | undefined;
  const readNew = async (): Promise<Views> => {
    queued = undefined;
    for await (const page of store.readAllPages(views.position + 1n)) for (const event of page) fold(event);
    return views;
  };
  // Both paths fold through here; only the next position is taken, so an event seen
  // by both the reader and the subscription is folded once.
  const fold = (event: RecordedEvent): boolean => {
    if (event.position <= views.position) return false;
    checkNext(views.position, event);
    evolveViews(views, event);
    return true;
  };
  // Reads run one after another so no event is folded twice; a caller always gets a
  // read that started after it asked, and callers arriving together share one.
  const catchUp = (): Promise<Views> => {
    queued ??= running = running.then(readNew, readNew);
    return queued;
  };
  // One feed per process however many listen: one poller, one fold. It starts right
  // after what the views hold and emits every later position, even one a concurrent
  // catch-up has folded already: listeners act on emissions, and an event folded but
  // never emitted would leave a client waiting for its finished job forever.
  const feed = defer(() => store.subscribeAll(views.position + 1n)).pipe(
    map((event) => {
      fold(event);
      return event;
    }),
    share(),
  );
  const live = (): Observable<RecordedEvent> => feed;
  const reach = async (position: bigint): Promise<Views> => {
    while (views.position < position) await catchUp();
    return views;
  };
  return { views, catchUp, reach, live };
};

export interface ReplayBound {
  untilPosition?: bigint;
  untilTime?: Date;
}

/** The views as they were at a position or an instant: a fresh fold, stopped there. */
export const replayUntil = async (store: EventStore, bound: ReplayBound = {}): Promise<Views> => {
  const views = emptyViews();
  const limit = bound.untilTime?.getTime();
  for await (const page of store.readAllPages(1n)) {
    for (const event of page) {
      if (bound.untilPosition !== undefined && event.position > bound.untilPosition) return views;
      if (limit !== undefined && Date.parse(event.metadata.recordedAt) > limit) return views;
      checkNext(views.position, event);
      evolveViews(views, event);
    }
  }
  return views;
};
