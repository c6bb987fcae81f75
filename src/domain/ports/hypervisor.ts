import type { HvParams } from '../hv-params.js';

/** What the engine asks of a hypervisor on a node. Every call is idempotent. */
export interface HypervisorInstance {
  name: string;
  uuid: string;
  memoryMib: number;
  vcpus: number;
  /** Which of the node's hypervisors runs it (Ganeti's -H); fake when not said. */
  hypervisor?: 'fake' | 'kvm';
  /** Its own kvm parameters (Ganeti's names); absent or left out: the node's defaults. */
  hvParams?: HvParams;
  /** Its disks as paths on that node, in order (the guest's vda, vdb, …): what the storage's attach answered there. */
  disks?: string[];
}
export interface Hypervisor {
  start(nodeName: string, instance: HypervisorInstance): Promise<void>;
  /** `timeoutSeconds`: how long the guest may take to power itself down before it is ended (0: at once); absent, the hypervisor's own. */
  stop(nodeName: string, instance: HypervisorInstance, options?: { timeoutSeconds?: number }): Promise<void>;
  /** Forgets the instance on that node entirely (after removal). */
  cleanup(nodeName: string, instance: HypervisorInstance): Promise<void>;
  running(nodeName: string): Promise<string[]>;
  /** Present when some of its nodes can move a running guest live (kvm through a node's daemon). */
  live?: LiveMigration;
  /** What the hypervisor itself says of the guest on that node (kvm: QEMU); undefined when none runs there. */
  inspect?(nodeName: string, instance: HypervisorInstance): Promise<GuestState | undefined>;
  /** The guest's serial console on that node, from byte `offset` (a bounded piece of it). */
  console?(nodeName: string, name: string, offset: number): Promise<ConsolePiece>;
}

/** A guest as its hypervisor sees it: QEMU's run state (running, paused, inmigrate, postmigrate…), its pid and memory. */
export interface GuestState {
  status: string;
  pid?: number;
  memoryMib?: number;
}
/**
 * The run states (QEMU's words) of a guest that has never run there: a migration's
 * destination still waiting for its stream. Only such a QEMU is ended to take a migration
 * back; any other answer (paused, panicked, an unknown one such as "its monitor is busy")
 * may be a guest that ran, and wrote its disks, there.
 */
export const NEVER_RAN_STATES: ReadonlySet<string> = new Set(['inmigrate', 'prelaunch']);

/** A piece of a serial console: its bytes from `offset`, where the next piece starts, how long the console is now. */
export interface ConsolePiece {
  data: Buffer;
  next: number;
  size: number;
}

/** What QEMU says of a migration under way, for the job's progress lines. */
export interface MigrationProgress {
  status: string;
  transferredBytes: number;
  remainingBytes: number;
  totalBytes: number;
  expectedDowntimeMs?: number;
}
/** What a finished live migration cost, as the source's QEMU measured it. */
export interface MigrationStats {
  totalMs: number;
  downtimeMs: number;
  bytes: number;
}

/**
 * Live migration between two nodes (kvm): each call is idempotent, so a successor engine
 * asking again under the same call finds the migration where the lost one left it.
 */
export interface LiveMigration {
  /** Starts the guest on this node waiting for its memory, listening on `address`; answers where the source sends it. */
  accept(nodeName: string, instance: HypervisorInstance, address: string): Promise<{ uri: string }>;
  /** Sends the running guest to `uri` and answers once it has all gone (the source is then paused, `postmigrate`). */
  send(nodeName: string, instance: HypervisorInstance, uri: string, progress?: (p: MigrationProgress) => void): Promise<MigrationStats>;
  /** Answers once the guest runs on this node (the destination), or fails saying what it does instead. */
  confirm(nodeName: string, instance: HypervisorInstance): Promise<void>;
  /**
   * Lets the guest run on this node again (the source, after a migration that failed or was
   * not confirmed). A source whose migration completed is refused unless `evenIfCompleted`
   * (its caller knows the destination does not run the guest): two copies never run.
   */
  resume(nodeName: string, instance: HypervisorInstance, options?: { evenIfCompleted?: boolean }): Promise<void>;
  /** Ends the guest that waits on this node for a migration (the destination); refused once the guest runs there. */
  withdraw(nodeName: string, instance: HypervisorInstance): Promise<void>;
  /** What the send under way from this node last saw of the guest's migration (none when no send runs). */
  progress?(nodeName: string, name: string): MigrationProgress | undefined;
}
