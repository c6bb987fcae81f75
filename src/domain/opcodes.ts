import { HYPERVISORS } from './hypervisors.js';
import { z } from 'zod';
import { NodeAddressSchema, NodeReportedSchema } from './node-address.js';
import { objectName, tagName } from './names.js';
import { BUILTIN_IALLOCATOR, DISK_TEMPLATES } from './templates.js';

const mib = (what: string) =>
  z.number({ error: `${what} must be a number of MiB` }).int(`${what} must be a whole number of MiB`).positive(`${what} must be positive`);

const absolutePath = z
  .string()
  .regex(/^\/[^\0]*$/, 'must be an absolute path')
  .refine((p) => !p.split('/').includes('..'), 'must not contain ..');

/** Ganeti's ndparam oob_program: the program that powers a node off and on, named plainly; '' clears it. */
const oobProgram = absolutePath
  .refine((p) => !/[\x00-\x1f\x7f]/.test(p), 'must not hold control characters')
  .refine((p) => p !== '/' && !p.endsWith('/') && !p.split('/').slice(1).some((part) => part === '' || part === '.'), "must name a file plainly (no '//', '/./' or trailing '/')")
  .or(z.literal(''))
  .optional();

const enabledHypervisors = z.array(z.enum(HYPERVISORS)).min(1).refine((l) => new Set(l).size === l.length, 'each hypervisor once');

export const OpClusterInit = z.object({
  type: z.literal('OP_CLUSTER_INIT'),
  clusterName: objectName,
  enabledDiskTemplates: z.array(z.enum(DISK_TEMPLATES)).min(1).default(['diskless', 'file', 'sharedfile', 'blockdev', 'ext']),
  vcpuRatio: z.number().positive().default(4),
  /** Ganeti's --enabled-hypervisors: the first is the default for new instances. */
  enabledHypervisors: enabledHypervisors.default(['fake']),
  sharedFileStorageDir: absolutePath.optional(),
  blockdevPrefixes: z.array(absolutePath).min(1).default(['/dev/disk/by-id', '/dev/mapper']),
  iallocatorTimeoutSeconds: z.number().positive('the iallocator timeout must be positive').max(86400).default(60),
  defaultIallocator: z.string().min(1).default(BUILTIN_IALLOCATOR),
  oobProgram,
});
export const OpClusterSetParams = z.object({
  type: z.literal('OP_CLUSTER_SET_PARAMS'),
  enabledDiskTemplates: z.array(z.enum(DISK_TEMPLATES)).min(1).optional(),
  vcpuRatio: z.number().positive().optional(),
  enabledHypervisors: enabledHypervisors.optional(),
  tags: z.array(tagName).optional(),
  sharedFileStorageDir: absolutePath.optional(),
  blockdevPrefixes: z.array(absolutePath).min(1).optional(),
  iallocatorTimeoutSeconds: z.number().positive('the iallocator timeout must be positive').max(86400).optional(),
  defaultIallocator: z.string().min(1).optional(),
  oobProgram,
  addPool: z
    .object({
      poolName: objectName,
      driver: objectName,
      params: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'a pool parameter name is lower-case letters, digits and _'), z.string()).default({}),
      timeoutSeconds: z.number().positive('the driver timeout must be positive').max(86400).default(300),
      /** Where the driver was found: filled in by the engine when it prepares the opcode, whatever was given. */
      driverDir: absolutePath.optional(),
    })
    .optional(),
  /** Finds the pool's driver again (on the search path of the engine that runs this), and may change its timeout. */
  modifyPool: z
    .object({
      poolName: objectName,
      timeoutSeconds: z.number().positive('the driver timeout must be positive').max(86400).optional(),
      /** Filled in by the engine, like addPool's. */
      driverDir: absolutePath.optional(),
    })
    .optional(),
  removePool: objectName.optional(),
});
/** Ganeti's `gnt-cluster destroy`: the cluster's name again, as a safeguard against the wrong data dir. */
export const OpClusterDestroy = z.object({ type: z.literal('OP_CLUSTER_DESTROY'), clusterName: objectName });
export const OpGroupSetParams = z.object({
  type: z.literal('OP_GROUP_SET_PARAMS'),
  groupName: objectName,
  connectPool: objectName.optional(),
  disconnectPool: objectName.optional(),
});
export const OpGroupAdd = z.object({ type: z.literal('OP_GROUP_ADD'), groupName: objectName });
export const OpGroupRename = z.object({ type: z.literal('OP_GROUP_RENAME'), groupName: objectName, newName: objectName });
export const OpGroupRemove = z.object({ type: z.literal('OP_GROUP_REMOVE'), groupName: objectName });
/**
 * A node with an address is asked for its memory and CPUs by the engine (what it
 * reports is recorded with it); one without is local and must be told them.
 */
export const OpNodeAdd = z.object({
  type: z.literal('OP_NODE_ADD'),
  nodeName: objectName,
  groupName: objectName,
  memoryMib: mib('memory').optional(),
  cpus: z.number().int('cpus must be a whole number').positive('cpus must be positive').optional(),
  diskMib: z.number().int('disk must be a whole number of MiB').nonnegative('disk must not be negative').default(0),
  address: NodeAddressSchema.optional(),
  /** Filled in by the engine from the node's own answer; whatever a caller puts here is replaced. */
  reported: NodeReportedSchema.optional(),
});
export const OpNodeSetParams = z.object({
  type: z.literal('OP_NODE_SET_PARAMS'),
  nodeName: objectName,
  offline: z.boolean().optional(),
  drained: z.boolean().optional(),
  vmCapable: z.boolean().optional(),
  /** The node's own oob program, over the cluster's; '' goes back to the cluster's. */
  oobProgram,
  /** Ganeti's --node-powered: records the node's power as the operator says it is. */
  powered: z.boolean().optional(),
});
/** Ganeti's OpOobCommand (`gnt-node power`): runs the nodes' oob program; power-off only on offline nodes. */
export const OOB_COMMANDS = ['power-on', 'power-off', 'power-cycle', 'power-status'] as const;
export type OobCommand = (typeof OOB_COMMANDS)[number];
export const OpOobCommand = z.object({
  type: z.literal('OP_OOB_COMMAND'),
  command: z.enum(OOB_COMMANDS),
  nodeNames: z.array(objectName).min(1),
});
export const OpNodeRemove = z.object({ type: z.literal('OP_NODE_REMOVE'), nodeName: objectName });
/** Does the undos a node owes (it did not answer when a saga was undone), or drops them (`giveUp`). */
export const OpNodeRepair = z.object({ type: z.literal('OP_NODE_REPAIR'), nodeName: objectName, giveUp: z.boolean().default(false) });
export const OpInstanceCreate = z.object({
  type: z.literal('OP_INSTANCE_CREATE'),
  instanceName: objectName,
  diskTemplate: z.enum(DISK_TEMPLATES),
  memoryMib: mib('memory'),
  vcpus: z.number().int('vcpus must be a whole number').positive('vcpus must be positive'),
  primaryNode: objectName.optional(),
  iallocator: z.string().min(1).optional(),
  /** Ganeti's -H NAME; absent: the cluster's default (the first of its enabled hypervisors). */
  hypervisor: z.enum(HYPERVISORS).optional(),
  /** Ganeti's -H NAME:PARAM=VALUE,…: checked against what that hypervisor takes (hv-params.ts). */
  hypervisorParams: z.record(z.string(), z.string()).default({}),
  start: z.boolean().default(true),
  tags: z.array(tagName).default([]),
  disks: z
    .array(
      z.object({
        sizeMib: z.number().int().positive('a disk size must be positive').optional(),
        adopt: z.string().optional(),
        pool: objectName.optional(),
        params: z.record(z.string(), z.string()).default({}),
      }),
    )
    .default([]),
});
/** Ganeti's grow-disk: AMOUNT is added, unless `absolute` makes it the new size. */
export const OpInstanceGrowDisk = z.object({
  type: z.literal('OP_INSTANCE_GROW_DISK'),
  instanceName: objectName,
  diskIndex: z.number().int().nonnegative('a disk index is 0 or more'),
  amountMib: z.number().int().positive('the amount must be positive'),
  absolute: z.boolean().default(false),
});
export const OpInstanceActivateDisks = z.object({ type: z.literal('OP_INSTANCE_ACTIVATE_DISKS'), instanceName: objectName });
export const OpInstanceDeactivateDisks = z.object({ type: z.literal('OP_INSTANCE_DEACTIVATE_DISKS'), instanceName: objectName });
/**
 * How long a guest is given to power itself down (the ACPI button) before its hypervisor
 * ends it: Ganeti's --timeout, in seconds; 0 ends it at once. At most 150: the engine gives
 * a node's kvm call 180 s. Absent: the node's own (its node.json, default 120).
 */
const shutdownTimeout = z.number().int('the shutdown timeout must be a whole number of seconds').min(0, 'the shutdown timeout cannot be negative').max(150, 'the shutdown timeout is at most 150 seconds').optional();
/** Ganeti's migrate: a running instance moves live (or, non-live, with a short stop). */
export const OpInstanceMigrate = z.object({
  type: z.literal('OP_INSTANCE_MIGRATE'),
  instanceName: objectName,
  targetNode: objectName.optional(),
  iallocator: z.string().min(1).optional(),
  live: z.boolean().default(true),
  /** Ganeti's --cleanup: no move, but make the cluster agree with where the instance runs. */
  cleanup: z.boolean().default(false),
});
/** Ganeti's failover: stop (if the source still answers), then start on the target. */
export const OpInstanceFailover = z.object({
  type: z.literal('OP_INSTANCE_FAILOVER'),
  instanceName: objectName,
  targetNode: objectName.optional(),
  iallocator: z.string().min(1).optional(),
  ignoreConsistency: z.boolean().default(false),
  /** Ganeti's --shutdown-timeout: how long the guest may take to power down on its source. */
  shutdownTimeoutSeconds: shutdownTimeout,
  /** Filled in by the engine, whatever was given: whether the source's daemon answered just before the decision. */
  sourceAnswered: z.boolean().optional(),
});
export const OpInstanceRename = z.object({ type: z.literal('OP_INSTANCE_RENAME'), instanceName: objectName, newName: objectName });
export const OpInstanceRemove = z.object({ type: z.literal('OP_INSTANCE_REMOVE'), instanceName: objectName, shutdownTimeoutSeconds: shutdownTimeout });
export const OpInstanceStartup = z.object({ type: z.literal('OP_INSTANCE_STARTUP'), instanceName: objectName });
export const OpInstanceShutdown = z.object({ type: z.literal('OP_INSTANCE_SHUTDOWN'), instanceName: objectName, timeoutSeconds: shutdownTimeout });
/**
 * Ganeti's reboot. hard (the default) and soft: the guest stopped on its node (ACPI, then
 * ended) and started again there — as Ganeti's kvm does both; full: its disks are also
 * detached and attached again between the two.
 */
export const OpInstanceReboot = z.object({
  type: z.literal('OP_INSTANCE_REBOOT'),
  instanceName: objectName,
  rebootType: z.enum(['soft', 'hard', 'full']).default('hard'),
  shutdownTimeoutSeconds: shutdownTimeout,
});
export const OpInstanceSetParams = z.object({
  type: z.literal('OP_INSTANCE_SET_PARAMS'),
  instanceName: objectName,
  memoryMib: mib('memory').optional(),
  vcpus: z.number().int().positive().optional(),
  tags: z.array(tagName).optional(),
  /** Ganeti's modify -H: the parameters named are set, one given as 'default' is dropped (the node's again). */
  hypervisorParams: z.record(z.string(), z.string()).optional(),
});
/** Ganeti's debugging opcode: sleeps, optionally holding instance locks. */
export const OpTestDelay = z.object({
  type: z.literal('OP_TEST_DELAY'),
  durationSeconds: z.number().nonnegative().max(86400),
  lockInstances: z.array(objectName).default([]),
  fail: z.boolean().default(false),
});

export const Opcode = z.discriminatedUnion('type', [
  OpClusterInit,
  OpClusterSetParams,
  OpClusterDestroy,
  OpGroupAdd,
  OpGroupRename,
  OpGroupRemove,
  OpGroupSetParams,
  OpNodeAdd,
  OpNodeSetParams,
  OpNodeRemove,
  OpNodeRepair,
  OpOobCommand,
  OpInstanceCreate,
  OpInstanceRemove,
  OpInstanceStartup,
  OpInstanceShutdown,
  OpInstanceReboot,
  OpInstanceSetParams,
  OpInstanceGrowDisk,
  OpInstanceRename,
  OpInstanceActivateDisks,
  OpInstanceDeactivateDisks,
  OpInstanceMigrate,
  OpInstanceFailover,
  OpTestDelay,
]);
export type Opcode = z.infer<typeof Opcode>;
export type OpcodeType = Opcode['type'];
export type OpcodeOf<T extends OpcodeType> = Extract<Opcode, { type: T }>;

export const OPCODE_TYPES = Opcode.options.map((o) => o.shape.type.value) as [OpcodeType, ...OpcodeType[]];

/**
 * An opcode as a job's log holds it: its type is checked on every read, the rest of
 * it by `Opcode` when an engine is about to run it. Replaying a long history thus
 * does not re-validate every opcode ever submitted.
 */
export const StoredOpcode = z.looseObject({ type: z.enum(OPCODE_TYPES) });
export type StoredOpcode = z.infer<typeof StoredOpcode>;
