import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';
import { allocateRequest, relocateRequest } from '../../allocators/request.js';
import type { CleanupObservation } from '../../domain/cluster-decide.js';
import { findInstance } from '../../domain/cluster-state.js';
import type { Failure } from '../../domain/events.js';
import { candidates } from '../../domain/mobility.js';
import type { OpcodeOf } from '../../domain/opcodes.js';
import type { Hypervisor } from '../../domain/ports/hypervisor.js';
import { DTS_EXT_MIRROR } from '../../domain/templates.js';
import type { Extras, HandlerContext, Prepared } from './handler.js';
import { observeDevices } from './devices.js';
import { consultIallocator } from './iallocator.js';
import { observeInstance } from './observe.js';
import { sourceAnswers } from './source-probe.js';


/** With neither -n nor -I, a new instance goes where the cluster's default allocator says. */
const placeNewInstance = async (op: OpcodeOf<'OP_INSTANCE_CREATE'>, ctx: HandlerContext): Promise<Either<Failure, Prepared<'OP_INSTANCE_CREATE'>>> => {
  const allocator = op.iallocator ?? (await ctx.state()).params?.defaultIallocator;
  if (op.primaryNode || !allocator) return E.right({ opcode: op });
  const placed = await consultIallocator(ctx, allocator, (state) => {
    const request = allocateRequest(state, op);
    return { what: `place new instance ${op.instanceName}`, request, domain: request.request.mobility_domain as string[], instance: { name: op.instanceName, memoryMib: op.memoryMib, vcpus: op.vcpus } };
  });
  return E.map((node: string) => ({ opcode: { ...op, primaryNode: node } }))(placed);
};

/** Placed, then — for adopted devices — what their paths resolve to on that node. */
const prepareCreate = async (op: OpcodeOf<'OP_INSTANCE_CREATE'>, ctx: HandlerContext): Promise<Either<Failure, Prepared<'OP_INSTANCE_CREATE'>>> => {
  const placed = await placeNewInstance(op, ctx);
  if (E.isLeft(placed)) return placed;
  const devices = await observeDevices(placed.right.opcode, ctx);
  return E.right({ ...placed.right, ...(devices && { devices }) });
};

/**
 * Where a move goes: -n, or the allocator -I names, or — for instances it could place
 * (externally mirrored ones) — the cluster's default one; anything else is left to
 * the decider, which says why it cannot move. `migrate --cleanup` moves nothing: it
 * looks where the instance runs instead.
 */
type MoveOpcode = OpcodeOf<'OP_INSTANCE_MIGRATE'> | OpcodeOf<'OP_INSTANCE_FAILOVER'>;
interface MovePlan {
  targetNode?: string;
  observed?: CleanupObservation;
}
const placeMove = async (op: MoveOpcode, ctx: HandlerContext, hypervisor: Hypervisor): Promise<Either<Failure, MovePlan>> => {
  if (op.type === 'OP_INSTANCE_MIGRATE' && op.cleanup) {
    const observed = await observeInstance(ctx, hypervisor, op.instanceName);
    return E.right(observed ? { observed } : {});
  }
  const state = await ctx.state();
  const instance = findInstance(state, op.instanceName);
  const fallback = instance && DTS_EXT_MIRROR.has(instance.diskTemplate) ? state.params?.defaultIallocator : undefined;
  const allocator = op.iallocator ?? fallback;
  if (op.targetNode || !allocator) return E.right({});
  const placed = await consultIallocator(ctx, allocator, (s) => {
    const i = findInstance(s, op.instanceName);
    return i && { what: `relocate ${i.name}`, request: relocateRequest(s, i), domain: candidates(s, i), instance: i };
  });
  return E.map((node: string) => ({ targetNode: node }))(placed);
};
const prepareMove =
  (hypervisor: () => Hypervisor) =>
  async <T extends MoveOpcode>(op: T, ctx: HandlerContext): Promise<Either<Failure, { opcode: T; observed?: CleanupObservation }>> => {
    const placed = await placeMove(op, ctx, hypervisor());
    if (E.isLeft(placed)) return placed;
    const { targetNode, observed } = placed.right;
    // A failover's source is asked whether it answers, whatever the caller said of it.
    const { sourceAnswered: _untrusted, ...given } = op as OpcodeOf<'OP_INSTANCE_FAILOVER'>;
    const answered = op.type === 'OP_INSTANCE_FAILOVER' ? await sourceAnswers(ctx, op.instanceName) : undefined;
    const opcode = { ...(op.type === 'OP_INSTANCE_FAILOVER' ? given : op), ...(targetNode !== undefined && { targetNode }), ...(answered !== undefined && { sourceAnswered: answered }) } as T;
    return E.right({ opcode, ...(observed && { observed }) });
  };

/** What instance opcodes ask of allocators and nodes before they are decided. */
export const instancePreparations = (hypervisor: () => Hypervisor) =>
  ({
    OP_INSTANCE_CREATE: { prepare: prepareCreate },
    OP_INSTANCE_MIGRATE: { prepare: prepareMove(hypervisor) },
    OP_INSTANCE_FAILOVER: { prepare: prepareMove(hypervisor) },
  }) satisfies Extras;
