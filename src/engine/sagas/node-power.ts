import type { SagaBuilder } from './saga.js';
import { nodeName } from './targets.js';

/**
 * A node powered through its oob program, then its power status checked: an exit 0 is
 * not believed alone. Kept when what follows fails (a failover's start on its target):
 * a node powered off stays off, and the log says so.
 */
export const nodePowerSaga: SagaBuilder<'NodePowered'> = (event, ctx) => {
  const { command, program } = event.data;
  const node = nodeName(ctx.state, event.data.nodeUuid);
  if (!node) return { steps: [], finish: () => event };
  return {
    steps: [
      { effect: { kind: 'oob', command, nodeName: node, program } },
      { effect: { kind: 'oob', command: 'power-status', nodeName: node, program, expectPowered: command !== 'power-off' } },
    ],
    finish: () => event,
    keepsOnFailure: true,
  };
};
