import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';
import { DomainError } from '../../domain/errors.js';
import type { Failure } from '../../domain/events.js';
import type { OpcodeOf, OpcodeType } from '../../domain/opcodes.js';
import type { Extras, HandlerContext, Prepared } from './handler.js';

const refused = (error: DomainError): Failure => error.toFailure();

/** The cluster's default allocator must be one that can be found, or nothing could use it. */
const missingAllocator = async (name: string | undefined, ctx: HandlerContext): Promise<Failure | undefined> =>
  name === undefined || !ctx.iallocators || (await ctx.iallocators.find(name))
    ? undefined
    : refused(new DomainError('not_found', `iallocator '${name}' was not found (looked for it as a path, and on ${ctx.iallocatorSearchPath?.join(':') ?? 'the search path'})`));

/** A pool may only name a driver that is there (the seed's "driver existence"). */
const missingDriver = async (driver: string | undefined, ctx: HandlerContext): Promise<Failure | undefined> =>
  driver === undefined || !ctx.drivers || (await ctx.drivers.find(driver))
    ? undefined
    : refused(new DomainError('not_found', `storage driver '${driver}' was not found in ${ctx.drivers.searchPath.join(':')}`));

const checked = <T extends OpcodeType>(opcode: OpcodeOf<T>, problem: Failure | undefined): Either<Failure, Prepared<T>> =>
  problem ? E.left(problem) : E.right({ opcode });

/** What the cluster opcodes check in the world before they are decided. */
export const clusterPreparations = {
  OP_CLUSTER_INIT: { prepare: async (op, ctx) => checked(op, await missingAllocator(op.defaultIallocator, ctx)) },
  OP_CLUSTER_SET_PARAMS: {
    prepare: async (op, ctx) => checked(op, (await missingDriver(op.addPool?.driver, ctx)) ?? (await missingAllocator(op.defaultIallocator, ctx))),
  },
} satisfies Extras;
