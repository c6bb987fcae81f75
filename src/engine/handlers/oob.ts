import * as E from 'fp-ts/lib/Either.js';
import { notInitialised } from '../../domain/decide/index.js';
import { oobTargets } from '../../domain/decide/node-power.js';
import { DomainError } from '../../domain/errors.js';
import { failures } from '../../domain/failures.js';
import type { Extras } from './handler.js';

/** One node's answer to `node power status`: its power, or why its program could not say. */
export interface PowerStatusRow {
  node: string;
  powered: boolean | null;
  error?: string;
}

/**
 * Ganeti's `gnt-node power status`: each node's oob program asked, in turn, on the
 * engine's host; the answers are the opcode's result and nothing is recorded. The other
 * commands are decided (src/domain/decide/node-power.ts) and carried out as sagas.
 */
export const oobHandlers = {
  OP_OOB_COMMAND: {
    async run(op, ctx) {
      if (op.command !== 'power-status') return undefined;
      const state = await ctx.state();
      if (!state.params) return E.left(notInitialised().toFailure());
      const targets = oobTargets(state, op.nodeNames);
      if (targets instanceof DomainError) return E.left(targets.toFailure());
      if (!ctx.oob) return E.left(failures.nodeError('this engine runs no oob programs'));
      const rows: PowerStatusRow[] = [];
      // Every node is asked, as Ganeti does; one whose program fails has its row say why (the command then exits 1).
      for (const { node: { name: node }, program } of targets) {
        try {
          const { powered } = await ctx.oob.run(program, 'power-status', node);
          rows.push({ node, powered: powered === true });
          await ctx.log(`node ${node} is powered ${powered ? 'on' : 'off'}, says its oob program ${program}`);
        } catch (error) {
          rows.push({ node, powered: null, error: `its oob program ${program}: ${error instanceof Error ? error.message : String(error)}` });
        }
      }
      return E.right(rows);
    },
  },
} satisfies Extras;
