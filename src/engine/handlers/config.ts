import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';
import { deciders, inCluster } from '../../domain/decide/index.js';
import { DomainError } from '../../domain/errors.js';
import type { Failure } from '../../domain/events.js';
import { BGL, exclusive, shared } from '../../domain/locks.js';
import type { OpcodeOf, OpcodeType } from '../../domain/opcodes.js';
import { failure } from '../job-records.js';
import type { HandlerContext, Handlers, Prepared } from './handler.js';

const refused = (error: DomainError): Failure => failure('application', error.code, error.message);

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

/** Opcodes that change only the configuration: no saga, the decided events are the whole effect. */
export const configHandlers = {
  OP_CLUSTER_INIT: { locks: () => [exclusive('cluster', 'cluster')], prepare: async (op, ctx) => checked(op, await missingAllocator(op.defaultIallocator, ctx)), decide: deciders.OP_CLUSTER_INIT },
  OP_CLUSTER_SET_PARAMS: { locks: () => [exclusive('cluster', 'cluster')], prepare: async (op, ctx) => checked(op, (await missingDriver(op.addPool?.driver, ctx)) ?? (await missingAllocator(op.defaultIallocator, ctx))), decide: inCluster(deciders.OP_CLUSTER_SET_PARAMS) },
  OP_GROUP_ADD: { locks: (_s, op) => [BGL, exclusive('group', op.groupName)], decide: inCluster(deciders.OP_GROUP_ADD) },
  OP_GROUP_REMOVE: { locks: (_s, op) => [BGL, exclusive('group', op.groupName)], decide: inCluster(deciders.OP_GROUP_REMOVE) },
  OP_GROUP_SET_PARAMS: { locks: (_s, op) => [BGL, exclusive('group', op.groupName)], decide: inCluster(deciders.OP_GROUP_SET_PARAMS) },
  OP_GROUP_RENAME: { locks: (_s, op) => [BGL, exclusive('group', op.groupName), exclusive('group', op.newName)], decide: inCluster(deciders.OP_GROUP_RENAME) },
  OP_NODE_ADD: { locks: (_s, op) => [BGL, shared('group', op.groupName), exclusive('node', op.nodeName)], decide: inCluster(deciders.OP_NODE_ADD) },
  OP_NODE_SET_PARAMS: { locks: (_s, op) => [BGL, exclusive('node', op.nodeName)], decide: inCluster(deciders.OP_NODE_SET_PARAMS) },
  OP_NODE_REMOVE: { locks: (_s, op) => [BGL, exclusive('node', op.nodeName)], decide: inCluster(deciders.OP_NODE_REMOVE) },
} satisfies Partial<Handlers>;
