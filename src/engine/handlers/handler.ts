import type { Either } from 'fp-ts/lib/Either.js';
import type { ClusterState } from '../../domain/cluster-state.js';
import type { DecideContext, CleanupObservation } from '../../domain/cluster-decide.js';
import type { DeviceObservations, DeviceSighting } from '../../domain/devices.js';
import type { DomainError } from '../../domain/errors.js';
import type { ClusterEvent, Failure, JobEvent } from '../../domain/events.js';
import type { LockRequest } from '../../domain/locks.js';
import type { OpcodeOf, OpcodeType } from '../../domain/opcodes.js';
import type { DriverCatalog } from '../../domain/ports/driver-catalog.js';
import type { Iallocators } from '../../domain/ports/iallocator.js';
import type { NodeReach } from '../../domain/ports/node-reach.js';
import type { OutOfBand } from '../../domain/ports/out-of-band.js';
import type { JobView } from '../../projections/job-view.js';
import type { Projector } from '../../projections/projector.js';

/** What a handler may use besides the cluster state: the job it runs in and the world it may look at. */
export interface HandlerContext {
  job: JobView;
  index: number;
  projector: Projector;
  /** The cluster as of every write this engine made (read-your-writes). */
  state(): Promise<ClusterState>;
  log(message: string, level?: 'info' | 'warning' | 'error'): Promise<void>;
  record(...events: Exclude<JobEvent, { type: 'JobSubmitted' }>[]): Promise<void>;
  iallocators?: Iallocators;
  iallocatorSearchPath?: string[];
  drivers?: DriverCatalog;
  /** The node daemons, for nodes that have an address. */
  nodes?: NodeReach;
  /** The nodes' oob programs. */
  oob?: OutOfBand;
  /** Says which device a path names on a node (blockdev adoption). */
  identifyDevice?: (nodeName: string, path: string) => Promise<DeviceSighting>;
}

/** An opcode made ready to decide: an allocator's choice filled in, or what the nodes were seen to run. */
export interface Prepared<T extends OpcodeType> {
  opcode: OpcodeOf<T>;
  observed?: CleanupObservation;
  /** What adopted devices' paths were seen to resolve to. */
  devices?: DeviceObservations;
}

/**
 * Ganeti's LogicalUnit, for one opcode: the locks it declares, what it prepares by
 * looking at the world (CheckPrereq's outward half), and its pure decision (the
 * events to record, or why not). The saga that carries the decision out follows
 * from the decided events (src/engine/sagas/).
 */
export interface Handler<T extends OpcodeType> {
  locks(state: ClusterState, opcode: OpcodeOf<T>): LockRequest[];
  prepare?(opcode: OpcodeOf<T>, ctx: HandlerContext): Promise<Either<Failure, Prepared<T>>>;
  decide(state: ClusterState, opcode: OpcodeOf<T>, ctx: DecideContext): Either<DomainError, ClusterEvent[]>;
  /** Runs the opcode outright instead of deciding it (Ganeti's OP_TEST_DELAY, a power status); undefined: decided as usual. */
  run?(opcode: OpcodeOf<T>, ctx: HandlerContext): Promise<Either<Failure, unknown> | undefined>;
}

export type Handlers = { [T in OpcodeType]: Handler<T> };

/** What the engine adds to an opcode's logical unit: preparation that looks at the world, or running it outright. */
export type Extras = { [T in OpcodeType]?: Pick<Handler<T>, 'prepare' | 'run'> };
