import * as E from 'fp-ts/lib/Either.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  parseCallId,
  pruneOnce,
  readExit,
  readOutput,
  readStarted,
  readWrapperPid,
  setAside,
  writeExit,
  writeStarted,
  type ExitRecord,
} from './call-journal.js';
import { endContainment, ENTER_CGROUP, markerEnv, openContainment, type Containment } from './containment.js';
import { bootId, groupAlive, killCallProcesses } from './process-tree.js';
import type { BoundedRun } from './run-bounded.js';

export interface JournaledRunOptions {
  /** The whole environment of the program. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs: number;
  /** Per stream: what is read back of the output. */
  outputLimit: number;
  /** Where calls are recorded, and this call's id: a retry with the same id gets this call's result. */
  journal: { dir: string; callId: string };
}

/** Between SIGTERM and SIGKILL at a timeout: time for a driver to let go of what it holds. */
const TERM_GRACE_MS = 2000;
const POLL_MS = 50;
/** How long a call with no pid recorded yet may be one whose process is still starting. */
const STARTING_MS = 5000;

/**
 * Runs between us and the program, in the program's own session: records its own pid,
 * runs the program, and records the exit status atomically, whether or not we are
 * still alive by then. It ends with the program's status.
 */
const WRAPPER = [
  'dir=$1; shift',
  ENTER_CGROUP,
  'boot=; read -r boot 2>/dev/null </proc/sys/kernel/random/boot_id',
  'echo "$$ $boot" >"$dir/pid.tmp" && mv -f "$dir/pid.tmp" "$dir/pid"',
  '"$@"',
  'code=$?',
  'echo "$code" >"$dir/exit.tmp" && mv -f "$dir/exit.tmp" "$dir/exit"',
  'exit "$code"',
].join('\n');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const resultOf = async (entry: string, record: ExitRecord, durationMs: number, outputLimit: number): Promise<BoundedRun> => {
  const [stdout, stderr] = await Promise.all([readOutput(entry, 'stdout', outputLimit), readOutput(entry, 'stderr', outputLimit)]);
  return {
    exitCode: record.kind === 'exit' ? record.code : null,
    stdout,
    stderr: record.kind === 'signal' ? `${stderr}killed by ${record.signal}` : stderr,
    durationMs: Math.max(0, Math.round(durationMs)),
    timedOut: record.kind === 'timeout',
  };
};

/** A journaled call's containment: named by its journal and id, so that a successor finds the same one. */
const containmentOf = (options: JournaledRunOptions): Promise<Containment> => openContainment(`${options.journal.dir}\0${options.journal.callId}`);

/** Ends a call past its deadline, everything it started with it, and records that. */
const timeOut = async (entry: string, leader: number, containment: Containment): Promise<ExitRecord> => {
  await killCallProcesses(leader, TERM_GRACE_MS);
  await endContainment(containment, 0);
  const record: ExitRecord = { kind: 'timeout' };
  await writeExit(entry, record);
  return record;
};

/** The first run of a call: its directory is ours, freshly made. */
const start = async (program: string, entry: string, options: JournaledRunOptions): Promise<BoundedRun> => {
  const startedAt = Date.now();
  const began = performance.now();
  const [out, err] = await Promise.all([open(join(entry, 'stdout'), 'w'), open(join(entry, 'stderr'), 'w')]);
  const containment = await containmentOf(options);
  let child: ChildProcess;
  try {
    child = spawn('/bin/sh', ['-c', WRAPPER, 'opl-call', entry, containment.cgroup ?? '', program], {
      ...(options.cwd !== undefined && { cwd: options.cwd }),
      env: { ...(options.env ?? process.env), ...markerEnv(containment) },
      stdio: ['ignore', out.fd, err.fd],
      detached: true,
    });
  } catch (error) {
    await Promise.all([out.close(), err.close()]);
    throw error;
  }
  // Listen before anything else awaits, or a quick exit would go unheard.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const failed = new Promise<Error>((resolve) => child.once('error', resolve));
  await Promise.all([out.close(), err.close()]); // the child has its own copies
  const pid = child.pid;
  if (pid === undefined) {
    // Nothing ran: forget the call, so that a retry runs it.
    const error = await failed;
    await endContainment(containment, 0);
    await rm(entry, { recursive: true, force: true });
    return { exitCode: null, stdout: '', stderr: error.message, durationMs: Math.round(performance.now() - began), timedOut: false };
  }
  const boot = await bootId();
  await writeStarted(entry, { startedAt, pid, pgid: pid, timeoutMs: options.timeoutMs, program, ...(boot !== undefined && { bootId: boot }) });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), Math.max(0, startedAt + options.timeoutMs - Date.now()))));
  const ended = await Promise.race([exited, deadline]);
  clearTimeout(timer);
  let record: ExitRecord | undefined;
  if (ended === undefined) record = await timeOut(entry, pid, containment);
  else {
    // It answered: whatever it left running (a child holding its output, a daemon
    // in a session of its own) is ended before its answer is used.
    await endContainment(containment, TERM_GRACE_MS);
    record = await readExit(entry);
    if (record === undefined) {
      // The wrapper could not record the end itself (killed, or no `mv` on its PATH).
      record = ended.signal !== null ? { kind: 'signal', signal: ended.signal } : { kind: 'exit', code: ended.code ?? 255 };
      await writeExit(entry, record);
    }
  }
  return resultOf(entry, record, performance.now() - began, options.outputLimit);
};

/** Who runs a call we did not start, if anyone can still be running it, and until when. */
const runner = async (entry: string, timeoutMs: number): Promise<{ leader: number; startedAt: number; deadline: number } | undefined> => {
  const entryTime = (await stat(entry).catch(() => undefined))?.mtimeMs ?? 0;
  for (;;) {
    const started = await readStarted(entry);
    const wrapper = started ? undefined : await readWrapperPid(entry);
    const leader = started?.pgid ?? wrapper?.pid;
    if (leader !== undefined) {
      const recordedBoot = started ? started.bootId : wrapper?.bootId;
      const boot = await bootId();
      // A pid from before a reboot names some other process now, or none.
      if (recordedBoot !== undefined && boot !== undefined && recordedBoot !== boot) return undefined;
      const startedAt = started?.startedAt ?? entryTime;
      return { leader, startedAt, deadline: startedAt + (started?.timeoutMs ?? timeoutMs) };
    }
    if ((await readExit(entry)) || Date.now() > entryTime + STARTING_MS) return undefined;
    await sleep(POLL_MS);
  }
};

/**
 * A call whose directory was already there: its recorded result, or its result once
 * the process still running it ends (or is killed at its deadline). Undefined if it
 * neither ended nor runs any more: nothing can tell what it did, so it must run again.
 */
const follow = async (program: string, entry: string, options: JournaledRunOptions): Promise<BoundedRun | undefined> => {
  const recorded = await readStarted(entry);
  if (recorded && recorded.program !== program) {
    throw new Error(`call ${options.journal.callId} was recorded running ${recorded.program}, not ${program}: one call id was given to two calls`);
  }
  const containment = await containmentOf(options);
  const ended = async (record: ExitRecord & { at: number }) => {
    await endContainment(containment, TERM_GRACE_MS);
    const startedAt = (await readStarted(entry))?.startedAt;
    return resultOf(entry, record, startedAt === undefined ? 0 : record.at - startedAt, options.outputLimit);
  };
  const finished = await readExit(entry);
  if (finished) return ended(finished);
  const running = await runner(entry, options.timeoutMs);
  if (!running) {
    const late = await readExit(entry);
    return late ? ended(late) : undefined;
  }
  for (;;) {
    const record = await readExit(entry);
    if (record) return ended(record);
    if (!(await groupAlive(running.leader))) {
      const late = await readExit(entry); // it may have ended between the two looks
      return late ? ended(late) : undefined;
    }
    if (Date.now() >= running.deadline) {
      return resultOf(entry, await timeOut(entry, running.leader, containment), Date.now() - running.startedAt, options.outputLimit);
    }
    await sleep(POLL_MS);
  }
};

const claim = (entry: string): Promise<boolean> =>
  mkdir(entry).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'EEXIST') return false;
      throw error;
    },
  );

const ATTEMPTS = 3;

/**
 * Runs `program` at most once per call id, recording the call under `journal.dir`,
 * so that a retry after our own death gets the first run's result instead of a
 * second run: the recorded result if it ended, the running process's once it ends,
 * a new run only if the first neither ended nor runs (the machine rebooted under it).
 * Same shape and bounds as runBounded; the program runs in a new session and, at the
 * timeout, it and everything it started are killed (SIGTERM, SIGKILL after a grace).
 */
export const runJournaled = async (program: string, options: JournaledRunOptions): Promise<BoundedRun> => {
  const { dir, callId } = options.journal;
  const valid = parseCallId(callId);
  if (E.isLeft(valid)) throw new Error(valid.left);
  await mkdir(dir, { recursive: true });
  await pruneOnce(dir);
  const entry = join(dir, callId);
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    if (await claim(entry)) return start(program, entry, options);
    const outcome = await follow(program, entry, options);
    if (outcome) return outcome;
    await setAside(dir, callId);
  }
  throw new Error(`call ${callId} could not be claimed in ${dir}: something else keeps starting it`);
};
