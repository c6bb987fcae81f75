import * as E from 'fp-ts/lib/Either.js';
import { logicalUnits } from '../../domain/decide/index.js';
import { failures } from '../../domain/failures.js';
import type { Extras } from './handler.js';

/** Ganeti's OP_TEST_DELAY: sleeps holding its locks, can be canceled while it sleeps, and can be told to fail. */
export const debugHandlers = {
  OP_TEST_DELAY: {
    async run(op, ctx) {
      const checked = logicalUnits.OP_TEST_DELAY.decide(await ctx.state(), op, { newUuid: () => '' });
      if (E.isLeft(checked)) return E.left(checked.left.toFailure());
      await ctx.log(`sleeping for ${op.durationSeconds}s`);
      const until = Date.now() + op.durationSeconds * 1000;
      while (Date.now() < until) {
        await new Promise((r) => setTimeout(r, Math.min(100, until - Date.now())));
        await ctx.projector.catchUp();
        if (ctx.job.cancelRequested) return E.left(failures.canceled('canceled by request while running'));
      }
      if (op.fail) return E.left(failures.testFailure('OP_TEST_DELAY was asked to fail'));
      return E.right(null);
    },
  },
} satisfies Extras;
