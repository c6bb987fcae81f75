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

/**
 * A pool may only name a driver that is there (the seed's "driver existence"); where
 * it was found is recorded with the pool (Ganeti keeps its providers with the
 * cluster), so that later calls do not depend on their caller's search path. What
 * the opcode said about it is never taken: only what this engine found.
 */
const withDriverDirs = async (op: OpcodeOf<'OP_CLUSTER_SET_PARAMS'>, ctx: HandlerContext): Promise<Either<Failure, OpcodeOf<'OP_CLUSTER_SET_PARAMS'>>> => {
  const find = async (driver: string): Promise<Either<Failure, string | undefined>> => {
    if (!ctx.drivers) return E.right(undefined);
    const dir = await ctx.drivers.find(driver);
    return dir !== undefined ? E.right(dir) : E.left(refused(new DomainError('not_found', `storage driver '${driver}' was not found in ${ctx.drivers.searchPath.join(':')}`)));
  };
  const { addPool, modifyPool } = op;
  let prepared = op;
  if (addPool) {
    const dir = await find(addPool.driver);
    if (E.isLeft(dir)) return dir;
    const { driverDir: _given, ...rest } = addPool;
    prepared = { ...prepared, addPool: { ...rest, ...(dir.right !== undefined && { driverDir: dir.right }) } };
  }
  if (modifyPool) {
    const pool = (await ctx.state()).pools.get(modifyPool.poolName);
    const { driverDir: _given, ...rest } = modifyPool;
    // An unknown pool is refused by the decision, with the usual words.
    const dir = pool ? await find(pool.driver) : E.right(undefined);
    if (E.isLeft(dir)) return dir;
    prepared = { ...prepared, modifyPool: { ...rest, ...(dir.right !== undefined && { driverDir: dir.right }) } };
  }
  return E.right(prepared);
};

const checked = <T extends OpcodeType>(opcode: OpcodeOf<T>, problem: Failure | undefined): Either<Failure, Prepared<T>> =>
  problem ? E.left(problem) : E.right({ opcode });

/** What the cluster opcodes check in the world before they are decided. */
export const clusterPreparations = {
  OP_CLUSTER_INIT: { prepare: async (op, ctx) => checked(op, await missingAllocator(op.defaultIallocator, ctx)) },
  OP_CLUSTER_SET_PARAMS: {
    prepare: async (op, ctx) => {
      const prepared = await withDriverDirs(op, ctx);
      return E.isLeft(prepared) ? prepared : checked(prepared.right, await missingAllocator(op.defaultIallocator, ctx));
    },
  },
} satisfies Extras;
