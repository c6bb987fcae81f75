import { IdempotencyConflictError, type AppendResult, type NewEvent } from '../../domain/ports/event-store.js';

export interface StoredIdentity {
  id: string;
  stream: string;
  revision: bigint;
  position: bigint;
}

/**
 * A retried append (same event ids, same stream, same order) is answered with the
 * result of the first one; any other overlap with stored ids is an error.
 */
export const replayedAppendResult = (
  stream: string,
  events: readonly NewEvent[],
  stored: readonly (StoredIdentity | undefined)[],
): AppendResult | undefined => {
  if (stored.every((s) => s === undefined)) return undefined;
  const first = stored[0];
  stored.forEach((s, i) => {
    const expectedId = events[i]!.id;
    if (
      !s ||
      !first ||
      s.stream !== stream ||
      s.revision !== first.revision + BigInt(i) ||
      s.position !== first.position + BigInt(i)
    ) {
      throw new IdempotencyConflictError(expectedId);
    }
  });
  const last = stored[stored.length - 1]!;
  return { nextRevision: last.revision, position: last.position };
};
