import { StoreFailureError, type FencedError } from '../domain/ports/event-store.js';
import type { Engine } from './engine.js';
import { LEADER_LEASE, type Leadership } from './leadership.js';

/**
 * A term: one stretch of leading under one fencing token, shared by every caller in
 * this process that needs an engine (a client waiting for its job, the daemon).
 * It ends when the last of them steps down, or at once when the lease is lost.
 */
export interface Term {
  token: bigint;
  users: number;
  ended: boolean;
  started: Promise<void>;
  over: Promise<void>;
  end: () => void;
}

/**
 * The terms of one process's leadership: joining or beginning one (`lead`), leaving it
 * (`stepDown`), and ending it at once when another engine took the lease (`stepAside`).
 */
export const createTerms = (leadership: Leadership, engine: Engine, onError?: (error: unknown) => void) => {
  let term: Term | undefined;
  /** Taking and giving back the lease happen one at a time, so a step-down never releases a lease a later lead has just taken. */
  let transitions: Promise<unknown> = Promise.resolve();
  const serially = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = transitions.then(fn);
    transitions = next.catch(() => undefined);
    return next;
  };
  const reported = new Set<bigint>();

  /** Another engine leads now: stop writing at once, say so in one line, let the clients wait as followers. */
  const stepAside = (fenced: FencedError): void => {
    if (!reported.has(fenced.token)) {
      reported.add(fenced.token);
      onError?.(new Error(`${fenced.message}; stepping down, the new leader goes on with its jobs`));
    }
    const t = term;
    if (!t || t.ended || t.token !== fenced.token) return;
    t.ended = true;
    term = undefined;
    leadership.abandon();
    void engine.halt(fenced);
    t.end();
  };
  /** Joins the current term, or takes the lease and begins one; undefined if another engine leads. */
  const lead = (): Promise<Term | undefined> =>
    serially(async () => {
      const token = await leadership.tryTake();
      if (token === undefined) return undefined;
      if (!term || term.token !== token) {
        let end = () => undefined as void;
        const over = new Promise<void>((resolve) => (end = resolve));
        term = { token, users: 0, ended: false, started: engine.start({ lease: LEADER_LEASE, token }), over, end };
      }
      const t = term;
      t.users += 1;
      try {
        await t.started;
      } catch (error) {
        // An engine that could not start (the store failing) leads nothing: give the lease back.
        t.users -= 1;
        if (t.users === 0 && !t.ended) {
          t.ended = true;
          if (term === t) term = undefined;
          t.end();
          await leadership.release().catch(() => undefined);
        }
        throw error;
      }
      return t;
    });
  const stepDown = (t: Term): Promise<void> =>
    serially(async () => {
      t.users -= 1;
      // A term ended by a take-over is already halted; the lease is another's.
      if (t.users > 0 || t.ended) return;
      t.ended = true;
      if (term === t) term = undefined;
      await engine.drain();
      t.end();
      // A store that is down cannot be told; the lease then ends by expiry, or with this
      // process on the same host.
      await leadership.release().catch((error: unknown) => {
        if (!(error instanceof StoreFailureError)) throw error;
      });
    });
  return { lead, stepDown, stepAside };
};
