import * as E from 'fp-ts/lib/Either.js';
import { type ClusterState, type NodeConfig, findNode, oobProgramOf } from '../cluster-state.js';
import { DomainError, invalidArgument, notFound, notSupported, wrongState } from '../errors.js';
import type { ClusterEvent } from '../events.js';
import { mobilityDomain } from '../mobility.js';
import type { OpcodeOf } from '../opcodes.js';
import { whyNot } from '../template-rules.js';
import { type CleanupObservation, type DecideContext, type Decision, ok, placementProblem, refuse, withInstance } from './shared.js';

export const decideInstanceMigrate = (state: ClusterState, op: OpcodeOf<'OP_INSTANCE_MIGRATE'>, ctx: DecideContext): Decision =>
  op.cleanup ? cleanUpMigration(state, op, ctx.observed) : moveInstance(state, op);

export const decideInstanceFailover = (state: ClusterState, op: OpcodeOf<'OP_INSTANCE_FAILOVER'>): Decision => moveInstance(state, op);

const moveInstance = (state: ClusterState, op: OpcodeOf<'OP_INSTANCE_MIGRATE'> | OpcodeOf<'OP_INSTANCE_FAILOVER'>): Decision =>
  withInstance(state, op.instanceName, (instance) => {
    const migrate = op.type === 'OP_INSTANCE_MIGRATE';
    const refusal = whyNot(instance.diskTemplate, migrate ? 'migrate' : 'failover');
    if (refusal) return refuse(notSupported(refusal));
    if (migrate && instance.adminState !== 'up') {
      return refuse(wrongState(`instance '${instance.name}' is not running; move a stopped instance with 'opl instance failover'`));
    }
    if (op.targetNode === undefined) {
      return refuse(invalidArgument(`${migrate ? 'migrate' : 'failover'}: give the target with -n NODE or -I ALLOCATOR`));
    }
    const target = findNode(state, op.targetNode);
    if (!target) return refuse(notFound('node', op.targetNode));
    if (instance.hypervisor === 'kvm' && !target.address) {
      return refuse(invalidArgument(`node '${target.name}' is a local node (no opl-noded): kvm guests run only on nodes added with --address`));
    }
    const candidacy = mobilityDomain(state, instance).find((c) => c.node === target.name)!;
    if (!candidacy.candidate) {
      return refuse(wrongState(`node '${target.name}' is not in the mobility domain of '${instance.name}': ${candidacy.reason}`));
    }
    const unfit = placementProblem(state, target, instance.memoryMib, instance.vcpus);
    if (unfit) return refuse(unfit);
    const source = state.nodes.get(instance.primaryNodeUuid)!;
    if (migrate && source.offline) {
      return refuse(wrongState(`node '${source.name}' is offline, so '${instance.name}' cannot migrate live; use 'opl instance failover'`));
    }
    const how = !migrate ? 'failover' : op.live ? 'live-migration' : 'non-live-migration';
    const fence = op.type === 'OP_INSTANCE_FAILOVER' ? fencing(state, op, source, instance.name, instance.adminState === 'up') : undefined;
    if (fence instanceof DomainError) return refuse(fence);
    const fenced = typeof fence === 'string';
    const moved: ClusterEvent = {
      type: 'InstanceMoved',
      data: {
        instanceUuid: instance.uuid,
        fromNodeUuid: source.uuid,
        toNodeUuid: target.uuid,
        how,
        running: instance.adminState === 'up',
        // A fenced source is powered off before anything else: it is called no more.
        sourceOffline: source.offline || fenced,
        ignoreSourceFailures: op.type === 'OP_INSTANCE_FAILOVER' && op.ignoreConsistency,
        ...(op.type === 'OP_INSTANCE_FAILOVER' && op.shutdownTimeoutSeconds !== undefined && { shutdownTimeoutSeconds: op.shutdownTimeoutSeconds }),
        ...(fenced && { fenced: true }),
      },
    };
    return fenced ? ok({ type: 'NodePowered', data: { nodeUuid: source.uuid, command: 'power-off', program: fence, fencedFor: instance.uuid } }, moved) : ok(moved);
  });

/**
 * Whether a failover must fence its source first, and with which oob program. A running
 * instance's source that does not answer may still run the guest on the shared disk:
 * started on the target too, two guests would write it. With an oob program the source
 * is powered off first, with --ignore-consistency too; without one the failover is
 * refused unless --ignore-consistency says to go on. A source marked offline is the
 * operator's word that it is down (Ganeti's habit), and is not fenced: it is also how
 * to fail over from a node whose power cannot be had.
 */
const fencing = (state: ClusterState, op: OpcodeOf<'OP_INSTANCE_FAILOVER'>, source: NodeConfig, name: string, running: boolean): string | DomainError | undefined => {
  const silent = !source.offline && op.sourceAnswered === false;
  if (!running || !silent) return undefined;
  const program = oobProgramOf(state, source);
  if (program) return program;
  if (op.ignoreConsistency) return undefined;
  return wrongState(
    `node '${source.name}' does not answer and may still run '${name}': mark it offline once you know it is down ('opl node modify ${source.name} --offline yes'), give it an oob program that can power it off (--node-parameters oob_program=PATH), or fail over with --ignore-consistency`,
  );
};

/**
 * Ganeti's `migrate --cleanup`, after a move that failed or was left half-done: the
 * instance's record is made to agree with where it runs, and whatever runs or is
 * attached elsewhere is let go of. Running on one node other than its primary means
 * the move happened and was not recorded: it is recorded now.
 */
const cleanUpMigration = (state: ClusterState, op: OpcodeOf<'OP_INSTANCE_MIGRATE'>, observed: CleanupObservation | undefined): Decision =>
  withInstance(state, op.instanceName, (instance) => {
    const refusal = whyNot(instance.diskTemplate, 'migrate');
    if (refusal) return refuse(notSupported(refusal));
    if (op.targetNode !== undefined || op.iallocator !== undefined) return refuse(invalidArgument('migrate --cleanup moves nothing: give neither -n nor -I'));
    if (!observed) return refuse(invalidArgument('migrate --cleanup needs the engine to look at the nodes first'));
    const primary = state.nodes.get(instance.primaryNodeUuid)!;
    const uuidOf = (name: string) => findNode(state, name)?.uuid;
    const elsewhere = observed.runningOn.filter((n) => n !== primary.name);
    if (elsewhere.length > 1 && !observed.runningOn.includes(primary.name)) {
      return refuse(wrongState(`instance '${instance.name}' runs on ${elsewhere.join(' and ')}, neither its primary '${primary.name}'; stop it by hand on all but one, then run --cleanup again`));
    }
    const movedTo = !observed.runningOn.includes(primary.name) && elsewhere.length === 1 ? findNode(state, elsewhere[0]!) : undefined;
    const keep = movedTo?.name ?? primary.name;
    // A copy that is not the guest (a migration's paused source or waiting target) is let go
    // of wherever it is, the primary too when the guest went nowhere: it is never resumed.
    // (The source a recorded move leaves is let go of by that move.)
    const left = (observed.leftOn ?? []).filter((n) => !(movedTo && n === primary.name));
    const strays = [...new Set([...[...observed.runningOn, ...observed.attachedOn].filter((n) => n !== keep && n !== primary.name), ...left])].sort();
    const events: ClusterEvent[] = [];
    if (movedTo) {
      events.push({
        type: 'InstanceMoved',
        data: { instanceUuid: instance.uuid, fromNodeUuid: primary.uuid, toNodeUuid: movedTo.uuid, how: 'live-migration', running: true, sourceOffline: primary.offline, ignoreSourceFailures: primary.offline, found: true },
      });
    }
    const strayUuids = strays.map(uuidOf).filter((u): u is string => u !== undefined);
    if (strayUuids.length > 0) events.push({ type: 'InstanceCleanedUp', data: { instanceUuid: instance.uuid, nodeUuids: strayUuids } });
    if (events.length === 0 && instance.adminState === 'up' && !observed.runningOn.includes(primary.name)) {
      return refuse(wrongState(`instance '${instance.name}' runs on no node; start it with 'opl instance start ${instance.name}'`));
    }
    return E.right(events);
  });
