import * as E from 'fp-ts/lib/Either.js';
import { observeNodes } from '../adapters/nodes/observe.js';
import { remoteNodeReach } from '../adapters/nodes/remote-reach.js';
import { findNode, type ClusterState } from '../domain/cluster-state.js';
import type { NodeObservation } from '../domain/instance-status.js';
import { homedir, hostname, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { createFakeHypervisor } from '../adapters/hypervisors/fake.js';
import { nodeRoutedHypervisor, offlineNode, type NodeCaller } from '../adapters/hypervisors/node-routed.js';
import { createIallocators, iallocatorSearchPath } from '../adapters/allocators/external.js';
import { withBuiltinAllocator } from '../adapters/allocators/with-builtin.js';
import type { Hypervisor } from '../domain/ports/hypervisor.js';
import type { Iallocators } from '../domain/ports/iallocator.js';
import { parseKillPoint } from '../engine/fault-injection.js';
import { createBlockDeviceStorage, type IdentifyDevice } from '../adapters/storage/block-devices.js';
import { nodeRoutedIdentify } from '../adapters/storage/node-routed-devices.js';
import { driverSearchPath, findDriver } from '../adapters/storage/driver-runner.js';
import { extDiskStorage } from '../adapters/storage/ext-disks.js';
import { localDrivers } from '../adapters/storage/ext-driver-call.js';
import { nodeRoutedDrivers } from '../adapters/storage/node-routed-drivers.js';
import { createFileDiskStorage } from '../adapters/storage/file-disks.js';
import { nodeRoutedFileStorage } from '../adapters/storage/node-routed-files.js';
import { localStorageCheck, nodeRoutedStorageCheck } from '../adapters/storage/storage-check.js';
import type { NodeStorageCheck } from '../domain/ports/node-storage-check.js';
import type { DriverCatalog } from '../domain/ports/driver-catalog.js';
import { openEventStore, parseStoreLocation } from '../adapters/stores/open.js';
import type { Opcode } from '../domain/opcodes.js';
import { oobPrograms } from '../adapters/oob/oob-program.js';
import { UnknownDependencyError, createControlPlane, type ControlPlane } from '../engine/control-plane.js';
import { CLIENT_PATIENCE, DAEMON_PATIENCE, type Patience } from '../engine/store-patience.js';
import { StoreFailureError } from '../domain/ports/event-store.js';
import { isJobEventType, type Failure } from '../domain/events.js';
import type { JobView } from '../projections/job-view.js';
import type { Views } from '../projections/views.js';
import { parseNumber, type GlobalValues } from './args.js';
import type { OutputFormat } from './render.js';
import { escapeControl, quote } from './text.js';
import { UsageError } from './usage-error.js';

export interface Io {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
  /** Asks the operator on a terminal; resolves undefined when there is none. Default: stdin. */
  ask?(question: string): Promise<string | undefined>;
}

export interface Session {
  plane: ControlPlane;
  dataDir: string;
  format: OutputFormat;
  io: Io;
  /** The allocators `-I` can name (the built-in one included), as the engine finds them. */
  iallocators: Iallocators;
  views(): Promise<Views>;
  /** Asks every node, in parallel and bounded, what it is running and whether it answers. */
  observe(state: ClusterState): Promise<Map<string, NodeObservation>>;
  /** Asks a node about its file storage, on that node (cluster verify). */
  storageCheck: NodeStorageCheck;
  /** Asks a node what a device path is there. */
  identify: IdentifyDevice;
  /** A node's daemon; undefined for a local node. */
  daemonOf: (name: string) => NodeCaller | undefined;
  /** What a node's hypervisor says of a guest there, and its console (kvm guests, through the node's daemon). */
  guests: Required<Pick<Hypervisor, 'inspect' | 'console'>>;
}

export const defaultDataDir = (env: NodeJS.ProcessEnv): string =>
  env.OPL_DATA_DIR ?? join(env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'opledger');

export const outputFormat = (command: string, text: string | undefined): OutputFormat => {
  const format = text ?? 'table';
  if (format !== 'table' && format !== 'json') throw new UsageError(`${command}: --output ${quote(format)}: expected table or json`);
  return format;
};

export const openSession = async (command: string, globals: GlobalValues, io: Io): Promise<Session> => {
  const format = outputFormat(command, globals.output);
  const dataDir = resolve(globals['data-dir'] ?? defaultDataDir(io.env));
  const location = parseStoreLocation(globals.store ?? io.env.OPL_STORE, dataDir);
  const killPoint = io.env.OPL_FAULT_KILL_AT ? parseKillPoint(io.env.OPL_FAULT_KILL_AT) : undefined;
  if (killPoint && E.isLeft(killPoint)) throw new UsageError(`${command}: ${killPoint.left}`);
  const killAt = killPoint?.right;
  const leaseTtlMs = leaseTtl(command, io.env.OPL_LEASE_TTL_MS);
  // Only `cluster init` makes a data dir and a store; every other command needs one there.
  // `audit verify` opens a log that lost its end (refused to everyone else) to say what was lost.
  const store = await openEventStore(location, { create: command === 'cluster init', openLostHead: command === 'audit verify' });
  const allocatorPath = iallocatorSearchPath(io.env);
  const iallocators = withBuiltinAllocator(createIallocators(allocatorPath));
  const nodes = remoteNodeReach(dataDir);
  // A node with an address runs its guests and keeps its file disks on its own host,
  // through its daemon. An offline node with a daemon is not called at all (Ganeti's
  // habit): it may be dead, and a failover must not wait out its timeouts.
  const daemonOf = (name: string) => {
    const node = findNode(plane.projector.views.cluster, name);
    if (!node?.address) return undefined;
    return node.offline ? offlineNode(name) : nodes.client(name, node.address);
  };
  const hypervisor = nodeRoutedHypervisor(createFakeHypervisor(join(dataDir, 'nodes')), daemonOf);
  const identify = nodeRoutedIdentify(daemonOf);
  const plane: ControlPlane = createControlPlane({
    store,
    hypervisor,
    storage: { ...fileStorage(join(dataDir, 'nodes'), daemonOf), blockdev: createBlockDeviceStorage(identify), ext: extDiskStorage(nodeRoutedDrivers(localDrivers(driverSearchPath(io.env), join(dataDir, 'driver-calls')), daemonOf)) },
    drivers: driverCatalog(driverSearchPath(io.env)),
    nodes,
    oob: oobPrograms(),
    iallocators,
    iallocatorSearchPath: allocatorPath,
    actor: io.env.OPL_ACTOR ?? `${safeUser()}@${hostname()}`,
    ...(killAt && { killAt }),
    ...(leaseTtlMs !== undefined && { leaseTtlMs }),
    onError: (error) => io.err(`opl: engine: ${error instanceof Error ? error.message : String(error)}\n`),
    patience: storePatience(command, io.env),
    // A daemon says when its store fails and when it is back; a client says it once, as it gives up.
    ...(command === 'daemon' && { onStoreTrouble: (message: string) => io.err(`opl daemon: ${escapeControl(message)}\n`) }),
  });
  return {
    plane,
    dataDir,
    format,
    io,
    iallocators,
    views: () => plane.projector.catchUp(),
    observe: (state) => observeNodes(state, { hypervisor, nodes }),
    storageCheck: nodeRoutedStorageCheck(localStorageCheck(join(dataDir, 'nodes')), daemonOf),
    identify,
    daemonOf,
    guests: { inspect: hypervisor.inspect, console: hypervisor.console },
  };
};

/**
 * How long the leader lease lasts unless renewed (default 10 s): how long a frozen
 * leader keeps the others waiting. Short values are for tests and labs.
 */
const leaseTtl = (command: string, text: string | undefined): number | undefined => {
  if (text === undefined || text === '') return undefined;
  const ms = Number(text);
  if (!/^\d+$/.test(text) || ms < 200 || ms > 3_600_000) {
    throw new UsageError(`${command}: OPL_LEASE_TTL_MS ${quote(text)}: expected a whole number of milliseconds from 200 to 3600000`);
  }
  return ms;
};

/**
 * A daemon waits out any store failure; a client waits a while (OPL_STORE_WAIT seconds,
 * if set) and then gives up with one line.
 */
const storePatience = (command: string, env: NodeJS.ProcessEnv): Patience => {
  if (command === 'daemon') return DAEMON_PATIENCE;
  const seconds = env.OPL_STORE_WAIT === undefined || env.OPL_STORE_WAIT === '' ? NaN : Number(env.OPL_STORE_WAIT);
  if (env.OPL_STORE_WAIT !== undefined && !(seconds >= 0)) throw new UsageError(`${command}: OPL_STORE_WAIT ${quote(env.OPL_STORE_WAIT)}: expected a number of seconds`);
  return Number.isNaN(seconds) ? CLIENT_PATIENCE : { unavailable: seconds * 1000, refuses_writes: seconds * 1000 };
};

/** Exit status of a command whose store failed: not a refusal (1), not bad usage (2); the outcome may not be known. */
export const STORE_FAILED_EXIT = 3;

/** Where pools' drivers are looked for: the engine refuses a pool whose driver is not there. */
const driverCatalog = (searchPath: string[]): DriverCatalog => ({ searchPath, find: (name) => findDriver(name, searchPath) });

const fileStorage = (nodesDir: string, daemonOf: (name: string) => NodeCaller | undefined) => {
  const files = nodeRoutedFileStorage(createFileDiskStorage(nodesDir), daemonOf);
  return { file: files, sharedfile: files };
};

const safeUser = (): string => {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
};

const stamp = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');

/**
 * Submits a job of these opcodes. With --submit, prints its id; otherwise follows it
 * to the end, printing its log lines, and returns the exit status.
 */
export const runJob = async (
  session: Session,
  command: string,
  globals: GlobalValues,
  opcodes: Opcode[],
  onSuccess?: (job: JobView) => string,
  /** Told the job as it ended, whatever the output format. */
  onFinished?: (job: JobView) => void,
): Promise<number> => {
  const priority = parseNumber(command, '--priority', globals.priority) ?? 0;
  if (!Number.isInteger(priority) || priority < -20 || priority > 19) {
    throw new UsageError(`${command}: --priority ${quote(String(priority))}: expected a whole number from -20 to 19`);
  }
  const dependsOn = (globals.depends ?? []).flatMap((d) => d.split(',')).map((d) => {
    const id = Number(d);
    if (!Number.isInteger(id) || id <= 0) throw new UsageError(`${command}: --depends ${quote(d)}: expected a job id`);
    return id;
  });
  let jobId: number;
  try {
    jobId = await session.plane.submit(opcodes, { priority, dependsOn });
  } catch (error) {
    if (error instanceof UnknownDependencyError) throw new UsageError(`${command}: --depends ${error.jobId}: ${error.message}`);
    if (error instanceof StoreFailureError) throw new StoreFailureError(error.kind, `${error.reason}; nothing was submitted`, error.code);
    throw error;
  }
  if (globals.submit) {
    session.io.out(session.format === 'json' ? `${JSON.stringify({ jobId })}\n` : `${jobId}\n`);
    return 0;
  }
  try {
    const job = await session.plane.awaitJob(jobId, (event) => {
      if (event.type === 'OpcodeLog' && isJobEventType(event.type)) {
        const data = event.data as { level: string; message: string };
        session.io.err(`${stamp(event.metadata.recordedAt)} ${data.level === 'info' ? '*' : data.level.toUpperCase()} ${escapeControl(data.message)}\n`);
      }
    });
    onFinished?.(job);
    return reportJob(session, job, onSuccess);
  } catch (error) {
    if (!(error instanceof StoreFailureError)) throw error;
    session.io.err(`opl: ${storeFailedWhileFollowing(jobId, error)}\n`);
    return STORE_FAILED_EXIT;
  }
};

/** The one line a client prints when its store failed under a job it followed: not "failed", since it may yet succeed. */
export const storeFailedWhileFollowing = (jobId: number, error: StoreFailureError): string =>
  `job ${jobId} did not finish here: ${escapeControl(error.message)}; it is not marked failed: once the store works again, 'opl job watch ${jobId}' (or a running daemon) carries it on`;

export const reportJob = (session: Session, job: JobView, onSuccess?: (job: JobView) => string): number => {
  if (session.format === 'json') {
    session.io.out(`${JSON.stringify({ jobId: job.id, status: job.status, results: job.opcodes.map((o) => o.result ?? null), error: firstError(job) ?? null })}\n`);
  } else if (job.status === 'success' && onSuccess) {
    session.io.out(onSuccess(job));
  }
  if (job.status === 'success') return 0;
  const error = firstError(job);
  session.io.err(
    job.status === 'canceled'
      ? `opl: job ${job.id} was canceled\n`
      : `opl: job ${job.id} failed: ${escapeControl(error?.message ?? 'unknown error')}${error ? ` (${error.code})` : ''}\n`,
  );
  return 1;
};

const firstError = (job: JobView): Failure | undefined => job.opcodes.find((o) => o.error)?.error;
