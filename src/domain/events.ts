import { HYPERVISORS } from './hypervisors.js';
import { z } from 'zod';
import { NodeAddressSchema, NodeReportedSchema } from './node-address.js';
import { auditEventSchemas } from './audit-events.js';
import { DISK_TEMPLATES } from './templates.js';
export type { Failure } from './failures.js';

/**
 * Every event type the log may hold, with the schema its stored payload is parsed
 * with on read. A stored event never changes meaning: a new meaning is a new type.
 */
const uuid = z.string().min(1);
const name = z.string().min(1);

/**
 * A decided event inside a `SagaBegun`: its payload is checked against its own type's
 * schema when the saga is folded (see `parseDecidedEvent`), not here, because the
 * union of cluster events includes `SagaBegun` itself.
 */
const decidedEventSchema = z.object({ type: z.string(), data: z.unknown() });

import { diskSchema, owedUndoSchema } from './event-parts.js';
import { jobEventSchemas, opcodeStatus } from './job-events.js';

export { diskSchema, owedUndoSchema, type DiskRecord, type OwedUndo } from './event-parts.js';

export const clusterEventSchemas = {
  ClusterInitialized: z.object({
    clusterName: name,
    clusterUuid: uuid,
    enabledDiskTemplates: z.array(z.enum(DISK_TEMPLATES)),
    vcpuRatio: z.number(),
    // Absent in clusters initialised before hypervisors could be chosen: fake only.
    enabledHypervisors: z.array(z.enum(HYPERVISORS)).optional(),
    sharedFileStorageDir: z.string().optional(),
    blockdevPrefixes: z.array(z.string()).optional(),
    iallocatorTimeoutSeconds: z.number().optional(),
    defaultIallocator: z.string().optional(),
    oobProgram: z.string().optional(),
  }),
  ClusterModified: z.object({
    enabledDiskTemplates: z.array(z.enum(DISK_TEMPLATES)).optional(),
    vcpuRatio: z.number().optional(),
    enabledHypervisors: z.array(z.enum(HYPERVISORS)).optional(),
    tags: z.array(z.string()).optional(),
    sharedFileStorageDir: z.string().optional(),
    blockdevPrefixes: z.array(z.string()).optional(),
    iallocatorTimeoutSeconds: z.number().optional(),
    defaultIallocator: z.string().optional(),
    /** '' clears it. */
    oobProgram: z.string().optional(),
  }),
  /** The cluster's configuration ends here (it had no nodes left); `cluster init` may begin another. */
  ClusterDestroyed: z.object({ clusterName: name, clusterUuid: uuid }),
  /** `driverDir`: where the driver was found when the pool was added; pools recorded before it was kept have none. */
  PoolAdded: z.object({ poolName: name, driver: name, params: z.record(z.string(), z.string()), timeoutSeconds: z.number(), driverDir: z.string().optional() }),
  /** A pool's driver found again (`driverDir`), or its timeout changed. */
  PoolModified: z.object({ poolName: name, driverDir: z.string().optional(), timeoutSeconds: z.number().optional() }),
  PoolRemoved: z.object({ poolName: name }),
  PoolConnected: z.object({ groupUuid: uuid, poolName: name }),
  PoolDisconnected: z.object({ groupUuid: uuid, poolName: name }),
  GroupAdded: z.object({ groupUuid: uuid, groupName: name }),
  GroupRenamed: z.object({ groupUuid: uuid, oldName: name, newName: name }),
  GroupRemoved: z.object({ groupUuid: uuid, groupName: name }),
  NodeAdded: z.object({
    nodeUuid: uuid,
    nodeName: name,
    groupUuid: uuid,
    memoryMib: z.number(),
    cpus: z.number(),
    diskMib: z.number(),
    address: NodeAddressSchema.optional(),
    reported: NodeReportedSchema.optional(),
  }),
  NodeModified: z.object({
    nodeUuid: uuid,
    offline: z.boolean().optional(),
    drained: z.boolean().optional(),
    vmCapable: z.boolean().optional(),
    /** '' goes back to the cluster's. */
    oobProgram: z.string().optional(),
    /** Ganeti's --node-powered: the operator's word on the node's power, when its oob program cannot say it. */
    powered: z.boolean().optional(),
  }),
  /**
   * The node's oob program ran `command` and its power status was checked after it.
   * A power-off leaves the node offline. `fencedFor`: powered off so that this
   * instance could fail over from it while it did not answer.
   */
  NodePowered: z.object({
    nodeUuid: uuid,
    command: z.enum(['power-on', 'power-off', 'power-cycle']),
    program: z.string(),
    fencedFor: uuid.optional(),
  }),
  NodeRemoved: z.object({ nodeUuid: uuid, nodeName: name }),
  InstanceAdded: z.object({
    instanceUuid: uuid,
    instanceName: name,
    diskTemplate: z.enum(DISK_TEMPLATES),
    primaryNodeUuid: uuid,
    secondaryNodeUuids: z.array(uuid),
    memoryMib: z.number(),
    vcpus: z.number(),
    hypervisor: z.enum(HYPERVISORS),
    // Absent when none were given (and in events written before they could be).
    hypervisorParams: z.record(z.string(), z.string()).optional(),
    tags: z.array(z.string()),
    // Absent in events written before instances had disks: those had none.
    disks: z.array(diskSchema).default([]),
  }),
  DiskGrown: z.object({ instanceUuid: uuid, index: z.number().int(), sizeMib: z.number() }),
  InstanceRenamed: z.object({ instanceUuid: uuid, oldName: name, newName: name, logicalIds: z.array(z.string()) }),
  InstanceRemoved: z.object({ instanceUuid: uuid, instanceName: name }),
  /** Disks attached on a node; `devices[i]` is where disk i appeared there. */
  DisksActivated: z.object({ instanceUuid: uuid, nodeUuid: uuid, devices: z.array(z.string()) }),
  DisksDeactivated: z.object({ instanceUuid: uuid, nodeUuid: uuid }),
  /** The instance now lives on `toNodeUuid`; `how` says how it got there. */
  InstanceMoved: z.object({
    instanceUuid: uuid,
    fromNodeUuid: uuid,
    toNodeUuid: uuid,
    how: z.enum(['live-migration', 'non-live-migration', 'failover']),
    running: z.boolean(),
    sourceOffline: z.boolean(),
    /** Failover with --ignore-consistency: a source that cannot be stopped is not waited on. */
    ignoreSourceFailures: z.boolean().default(false),
    /** Failover's --shutdown-timeout, for the guest's stop on its source (absent: the node's default). */
    shutdownTimeoutSeconds: z.number().int().min(0).max(150).optional(),
    /** Recorded by migrate --cleanup: the instance was found running on the target already, so nothing is sent; the source's copy is let go of. */
    found: z.boolean().optional(),
    /** Failover from a source that was powered off through its oob program first (a NodePowered before it). */
    fenced: z.boolean().optional(),
  }),
  /** A migrate --cleanup found the instance or its disks where they should not be, and let go of them there. */
  InstanceCleanedUp: z.object({ instanceUuid: uuid, nodeUuids: z.array(uuid).min(1) }),
  InstanceStarted: z.object({ instanceUuid: uuid, nodeUuid: uuid }),
  /** timeoutSeconds: how long the guest was given to power down before it was ended (absent: the node's default). */
  InstanceStopped: z.object({ instanceUuid: uuid, nodeUuid: uuid, timeoutSeconds: z.number().int().min(0).max(150).optional() }),
  /** hypervisorParams: the whole new set (-H), taken at its next start. */
  InstanceModified: z.object({ instanceUuid: uuid, memoryMib: z.number().optional(), vcpus: z.number().optional(), tags: z.array(z.string()).optional(), hypervisorParams: z.record(z.string(), z.string()).optional() }),
  /**
   * An opcode's decision, recorded before any of its side effects: `events` are the
   * events it decided (each checked against its own schema on read), and from here
   * on what they need — memory, vcpus and disk on a node, a name, an adopted device,
   * the instance itself — is held, until the saga completes or is undone.
   */
  SagaBegun: z.object({
    sagaId: z.string().min(1),
    jobId: z.number().int(),
    opIndex: z.number().int(),
    events: z.array(decidedEventSchema),
  }),
  /** Every step of the saga ran: its holds end, and the decided events (recorded right after, with what the steps learnt) take effect. */
  SagaCompleted: z.object({ sagaId: z.string().min(1) }),
  /**
   * The saga failed and what it had done was undone: its holds end and the configuration
   * is as before it began. `owed`: undos that could not be done because their node did
   * not answer; the node owes them until `node repair` does them or drops them.
   */
  SagaUndone: z.object({ sagaId: z.string().min(1), reason: z.string(), owed: z.array(owedUndoSchema).optional() }),
  /** Undos a node owed, done on it now (`done`), or given up with the node (`dropped`). */
  OwedUndosSettled: z.object({ nodeUuid: z.string(), ids: z.array(z.string()).min(1), how: z.enum(['done', 'dropped']) }),
} as const;

export { failureSchema } from './job-events.js';

export const opcodeStatusSchema = opcodeStatus;
export type OpcodeStatus = z.infer<typeof opcodeStatus>;

type Schemas<T extends Record<string, z.ZodType>> = {
  [K in keyof T]: { type: K; data: z.infer<T[K]> };
}[keyof T];

export type ClusterEvent = Schemas<typeof clusterEventSchemas>;
export type JobEvent = Schemas<typeof jobEventSchemas>;
export type DomainEvent = ClusterEvent | JobEvent;
export type ClusterEventType = ClusterEvent['type'];
export type JobEventType = JobEvent['type'];
export type EventOf<T extends DomainEvent['type']> = Extract<DomainEvent, { type: T }>;

// Audit events (keys, checkpoints) are parsed like the others but folded into no view.
const allSchemas: Record<string, z.ZodType> = { ...clusterEventSchemas, ...jobEventSchemas, ...auditEventSchemas };

export const isClusterEventType = (type: string): type is ClusterEventType => type in clusterEventSchemas;
export const isJobEventType = (type: string): type is JobEventType => type in jobEventSchemas;

/** Parses a stored payload; unknown types and malformed payloads are reported, not trusted. */
export const parseEvent = (type: string, data: unknown): DomainEvent => {
  const schema = allSchemas[type];
  if (!schema) throw new Error(`unknown event type '${type}' in the log`);
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    throw new Error(`malformed '${type}' event in the log: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  }
  return { type, data: parsed.data } as DomainEvent;
};

const SAGA_EVENT_TYPES: ReadonlySet<string> = new Set(['SagaBegun', 'SagaCompleted', 'SagaUndone']);

/** A decided event carried by a `SagaBegun`, checked like any stored event; sagas do not nest. */
export const parseDecidedEvent = (event: { type: string; data: unknown }): ClusterEvent => {
  if (!isClusterEventType(event.type) || SAGA_EVENT_TYPES.has(event.type)) {
    throw new Error(`a saga in the log holds a decided event of type '${event.type}', which no saga decides`);
  }
  return parseEvent(event.type, event.data) as ClusterEvent;
};
