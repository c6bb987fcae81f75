import type { OptionSpec } from './args.js';
import { defineCommand, type Command, type CommandSpec, type Ctx } from './command.js';
import { outputFormat, type Session } from './session.js';
import { withSession } from './commands/with-session.js';

export interface ViewSpec<O extends OptionSpec, A extends readonly string[], P> extends CommandSpec<O, A> {
  /** Checks the command line before the store is opened; what it returns goes to `view`. */
  prepare?(ctx: Ctx<O, A>): P;
  /** Reads (or watches) the cluster and prints; returns the exit status. */
  view(session: Session, ctx: Ctx<O, A> & { prepared: P }): Promise<number>;
}

/**
 * A command that opens the store to show something: a listing, one object, a job
 * followed live. Bad arguments are refused before the store is opened.
 */
export const viewCommand = <const O extends OptionSpec, const A extends readonly string[], P = undefined>(spec: ViewSpec<O, A, P>): Command =>
  defineCommand(spec, async (ctx, io) => {
    outputFormat(ctx.command, ctx.values.output);
    const prepared = spec.prepare ? spec.prepare(ctx) : (undefined as P);
    return withSession(ctx.command, ctx.values, io, (s) => spec.view(s, { ...ctx, prepared }));
  });
