import type { z } from 'zod';
import type { OptionSpec } from './args.js';
import { defineCommand, type Command, type CommandSpec, type Ctx } from './command.js';
import { confirm, FORCE_OPTION } from './confirm.js';
import type { Opcode, OpcodeType } from '../domain/opcodes.js';
import type { JobView } from '../projections/job-view.js';
import { outputFormat, runJob, type Session } from './session.js';
import { validated } from './validate.js';
import { withSession } from './commands/with-session.js';

/**
 * An opcode's fields as the command line builds them: any may be missing and a name
 * from a closed set is still any string; the schema says which must not be, and why.
 */
type Loose<V> = V extends string ? string : V extends readonly (infer E)[] ? Loose<E>[] : V extends object ? Draft<V> : V;
export type Draft<T> = { [K in keyof T]?: Loose<T[K]> | undefined };

/** An opcode's schema, which names its type (`OP_INSTANCE_CREATE`). */
export type OpcodeSchema = z.ZodObject<{ type: z.ZodLiteral<OpcodeType> }> & z.ZodType<Opcode>;

export interface OpcodeSpec<O extends OptionSpec, A extends readonly string[], S extends OpcodeSchema> extends CommandSpec<O, A> {
  /** The opcode's schema: it validates what `opcode` builds before anything is submitted. */
  schema: S;
  /** The opcode's fields from the command line (its type comes from the schema). */
  opcode(ctx: Ctx<O, A>): Draft<Omit<z.input<S>, 'type'>>;
  /** Opcode field → what the operator typed for it (`memoryMib` → `--memory`), for messages. */
  flags?: Record<string, string>;
  /** For a command that destroys something: the question asked before it runs (skipped by -f). */
  confirm?(ctx: Ctx<O, A>): string;
  /** Printed when the job succeeded (table output). */
  onSuccess?(job: JobView, ctx: Ctx<O, A>): string;
  /** Run after a successful job followed to its end, whatever the output format. */
  committed?(session: Session, ctx: Ctx<O, A>): Promise<void>;
  /** A job that succeeded may still end the command non-zero (a power status one node could not give): its exit status then. */
  exitCode?(job: JobView): number;
  /** Printed after a successful job (table output, not with --submit), from the views. */
  after?(session: Session, ctx: Ctx<O, A>): Promise<string>;
}

/**
 * A command that submits one opcode, Ganeti's SubmitOrSend: the arguments are parsed
 * and the opcode validated before the store is opened, then the job is submitted and
 * followed to its end (or, with --submit, its id printed).
 */
export const opcodeCommand = <const O extends OptionSpec, const A extends readonly string[], S extends OpcodeSchema>(
  spec: OpcodeSpec<O, A, S>,
): Command => {
  const options = spec.confirm ? { ...spec.options, ...FORCE_OPTION } : spec.options;
  const usage = spec.confirm ? [spec.usage, '[-f]'].filter(Boolean).join(' ') : spec.usage;
  return defineCommand({ ...spec, options, ...(usage && { usage }) }, async (ctx, io) => {
    outputFormat(ctx.command, ctx.values.output); // refused before the question, not after it
    const op = validated(ctx.command, spec.schema, { type: spec.schema.shape.type.value, ...spec.opcode(ctx) }, spec.flags);
    if (spec.confirm) {
      const force = 'force' in ctx.values && ctx.values.force === true;
      if (!(await confirm(ctx.command, spec.confirm(ctx), force, io))) return 1;
    }
    return withSession(ctx.command, ctx.values, io, async (s) => {
      const { onSuccess } = spec;
      let followed: JobView | undefined;
      const code = await runJob(s, ctx.command, ctx.values, [op], onSuccess && ((job) => onSuccess(job, ctx)), (job) => (followed = job));
      if (code === 0 && followed && spec.exitCode) return spec.exitCode(followed);
      if (code === 0 && spec.committed && !ctx.values.submit) await spec.committed(s, ctx);
      if (code === 0 && spec.after && !ctx.values.submit && s.format === 'table') io.out(await spec.after(s, ctx));
      return code;
    });
  });
};
