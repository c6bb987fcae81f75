import * as E from 'fp-ts/lib/Either.js';
import type { Either } from 'fp-ts/lib/Either.js';
import { open, opendir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * The on-disk journal of external calls, one directory per call id:
 *   started  JSON, written by us once the call's process runs (StartedRecord)
 *   pid      the wrapper's pid and boot id, written by the wrapper before the driver runs
 *   stdout, stderr  the driver's output, as it writes it
 *   exit     how it ended, written last and atomically: the driver's exit status
 *            (by the wrapper), `timeout` or `signal NAME` (by us)
 * Names starting with a dot are ours: earlier attempts kept for an operator to read.
 */

/** Call ids come from the engine's intent events; they name directories, so nothing else. */
const CALL_ID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$/;

export const parseCallId = (callId: string): Either<string, string> =>
  CALL_ID.test(callId)
    ? E.right(callId)
    : E.left(`call id ${JSON.stringify(callId.slice(0, 120))} is not 1 to 100 letters, digits, '.', '_' or '-' (not starting with '.')`);

const StartedRecord = z.object({
  startedAt: z.number({ error: 'started: startedAt must be a time in milliseconds' }),
  pid: z.number().int().positive({ error: 'started: pid must be a positive integer' }),
  pgid: z.number().int().positive({ error: 'started: pgid must be a positive integer' }),
  timeoutMs: z.number().positive({ error: 'started: timeoutMs must be a positive number' }),
  program: z.string({ error: 'started: program must be a path' }),
  bootId: z.string().optional(),
});
export type StartedRecord = z.infer<typeof StartedRecord>;

export type ExitRecord = { kind: 'exit'; code: number } | { kind: 'signal'; signal: string } | { kind: 'timeout' };

/** Written beside, then renamed over: a reader sees the whole file or none. */
const writeAtomically = async (path: string, text: string) => {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, text);
  await rename(temporary, path);
};

export const writeStarted = (entry: string, record: StartedRecord) => writeAtomically(join(entry, 'started'), `${JSON.stringify(record)}\n`);

/** What `started` says, or undefined if it is missing or not ours to trust. */
export const readStarted = async (entry: string): Promise<StartedRecord | undefined> => {
  const text = await readFile(join(entry, 'started'), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const parsed = StartedRecord.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
};

/** The wrapper's pid and boot id, as it wrote them: all we know if we died before writing `started`. */
export const readWrapperPid = async (entry: string): Promise<{ pid: number; bootId?: string } | undefined> => {
  const [pid, boot] = (await readFile(join(entry, 'pid'), 'utf8').catch(() => '')).trim().split(/\s+/);
  if (pid === undefined || !/^[1-9]\d*$/.test(pid)) return undefined;
  return { pid: Number(pid), ...(boot !== undefined && boot !== '' && { bootId: boot }) };
};

export const writeExit = (entry: string, record: ExitRecord) =>
  writeAtomically(join(entry, 'exit'), `${record.kind === 'exit' ? record.code : record.kind === 'signal' ? `signal ${record.signal}` : 'timeout'}\n`);

/** How the call ended and when, or undefined while it has not (or the record is unreadable). */
export const readExit = async (entry: string): Promise<(ExitRecord & { at: number }) | undefined> => {
  const path = join(entry, 'exit');
  const [text, info] = await Promise.all([readFile(path, 'utf8').catch(() => undefined), stat(path).catch(() => undefined)]);
  if (text === undefined || info === undefined) return undefined;
  const line = text.trim();
  if (/^\d+$/.test(line)) return { kind: 'exit', code: Number(line), at: info.mtimeMs };
  if (line === 'timeout') return { kind: 'timeout', at: info.mtimeMs };
  const signal = /^signal (\w+)$/.exec(line)?.[1];
  return signal ? { kind: 'signal', signal, at: info.mtimeMs } : undefined;
};

/** The first `limit` characters a stream holds (read as at most `limit` bytes). */
export const readOutput = async (entry: string, stream: 'stdout' | 'stderr', limit: number): Promise<string> => {
  const handle = await open(join(entry, stream), 'r').catch(() => undefined);
  if (!handle) return '';
  try {
    const buffer = Buffer.alloc(limit);
    const { bytesRead } = await handle.read(buffer, 0, limit, 0);
    return buffer.subarray(0, bytesRead).toString('utf8').slice(0, limit);
  } finally {
    await handle.close();
  }
};

/** Moves an attempt that can neither be finished nor waited for out of the call's way. */
export const setAside = async (dir: string, callId: string) =>
  rename(join(dir, callId), join(dir, `.${callId}.attempt-${Date.now()}`)).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });

export const PRUNE_AFTER_MS = 7 * 24 * 3600 * 1000;
const PRUNE_SCAN_LIMIT = 2000;
const pruned = new Set<string>();

/**
 * Removes calls older than PRUNE_AFTER_MS (by the time their directory last changed,
 * which is when `exit` landed): once per directory per process, looking at no more
 * than PRUNE_SCAN_LIMIT entries, so that it costs little however large the journal.
 */
export const pruneOnce = async (dir: string, now = Date.now()): Promise<void> => {
  if (pruned.has(dir)) return;
  pruned.add(dir);
  const entries = await opendir(dir).catch(() => undefined);
  if (!entries) return;
  let seen = 0;
  for await (const entry of entries) {
    if (++seen > PRUNE_SCAN_LIMIT) break;
    const path = join(dir, entry.name);
    const info = await stat(path).catch(() => undefined);
    if (info && now - info.mtimeMs > PRUNE_AFTER_MS) await rm(path, { recursive: true, force: true }).catch(() => undefined);
  }
};
