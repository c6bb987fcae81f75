import type { Effect } from './effect.js';
import type { SagaBuilder } from './saga.js';
import { recordedAsDecided } from './saga.js';

/**
 * Doing the undos a node owed: each one a step, the call exactly as the failed saga
 * would have made it (undos are idempotent, so one done before the node stopped
 * answering is harmless to make again). Dropped ones touch nothing.
 */
export const settleOwedSaga: SagaBuilder<'OwedUndosSettled'> = (event, ctx) => {
  if (event.data.how === 'dropped') return recordedAsDecided(event);
  const effects = event.data.ids.map((id) => ctx.state.owedUndos.get(id)).filter((owed) => owed !== undefined);
  // The log holds what our own saga runner wrote there: an Effect, kept whole.
  return { steps: effects.map((owed) => ({ effect: owed.effect as unknown as Effect })), finish: () => event };
};
