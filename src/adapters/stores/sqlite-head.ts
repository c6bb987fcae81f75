import type Database from 'better-sqlite3';
import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import { StoreOpenError } from '../../domain/ports/event-store.js';

/**
 * The highest committed position, kept beside an SQLite store (`PATH-head`), so that a
 * log that lost committed events is refused at open instead of served.
 *
 * SQLite replays its write-ahead log up to the last intact commit and silently drops
 * the rest: a `-wal` file cut short or damaged (a bad copy, a full disk during a
 * backup, a power cut under synchronous=NORMAL) loses its last transactions without
 * an error, and the next `instance add` then reuses a job id and a position that
 * scripts and auditors already saw. The record is one fixed-size line rewritten in
 * place after commits (one pwrite on a kept descriptor per turn of the event loop, no
 * fsync: it is a witness, not a second log). A writer in another process may overwrite it with its own older
 * position; that only weakens the check for a moment, it never makes it refuse a good
 * log, since every value ever written was committed.
 */
const RECORD_LENGTH = 96;
/** Written instead of an id that would not fit the record (ours are UUIDs): the position alone is checked. */
const UNNAMED = '-';
const recordable = (id: string) => (/^[\x21-\x7e]{1,64}$/.test(id) ? id : UNNAMED);
const RECORD = /^opl-head 1 (\d+) (\S+) *\n?$/;

export interface HeadWitness {
  /** After a commit: the last event written and its position, recorded by the end of this turn of the event loop. Never throws: the append did happen. */
  committed(position: bigint, id: string): void;
  /** The head as recorded when the store was opened (`id` is '-' when it was not recorded), and where. */
  recorded(): { position: number; id: string; file: string } | undefined;
  close(): void;
}

export const headPath = (path: string): string => `${path}-head`;

/**
 * Refuses DB (closing it) if it ends before the recorded head or holds another event there; then keeps the head up to date.
 * With `refuse: false` (`audit verify` only: it must be able to name what was lost) the store opens all the same.
 */
export const checkedHead = (db: Database.Database, path: string, options: { refuse?: boolean } = {}): HeadWitness => {
  if (path === ':memory:' || path === '') return { committed: () => undefined, recorded: () => undefined, close: () => undefined };
  const file = headPath(path);
  let recorded: ReturnType<typeof readHead>;
  try {
    recorded = readHead(file);
  } catch (error) {
    db.close();
    throw error;
  }
  if (recorded && options.refuse !== false) {
    const last = Number((db.prepare('SELECT max(position) FROM opl_events').pluck().get() as number | null) ?? 0);
    const there = db.prepare('SELECT id FROM opl_events WHERE position = ?').pluck().get(recorded.position) as string | undefined;
    if (last < recorded.position || (recorded.id !== UNNAMED && there !== recorded.id)) {
      db.close();
      const what = last < recorded.position ? `ends at position ${last}` : `holds another event (${there ?? 'none'}) at position ${recorded.position}`;
      throw new StoreOpenError(
        `the log at ${path} ${what} but position ${recorded.position} (event ${recorded.id}) was committed: its write-ahead log was truncated or damaged, or events were deleted ('opl audit verify' names what was lost); restore it from a backup (or, to accept the loss, remove ${file})`,
      );
    }
  }
  let fd: number | undefined;
  let highest = recorded?.position ?? 0;
  try {
    fd = openSync(file, 'a+');
    closeSync(fd);
    fd = openSync(file, 'r+');
  } catch {
    fd = undefined; // a store we cannot witness still works; only the check is lost
  }
  // One write per turn of the event loop, of the highest head committed in it: a burst
  // of appends (a job's events, a replay) pays one pwrite, not one each. A process killed
  // within that turn leaves the record one turn behind, which only weakens the check.
  let pending: { at: number; id: string } | undefined;
  let scheduled: NodeJS.Immediate | undefined;
  const flush = () => {
    scheduled = undefined;
    if (fd === undefined || pending === undefined) return;
    const { at, id } = pending;
    pending = undefined;
    try {
      writeSync(fd, Buffer.from(`opl-head 1 ${at} ${recordable(id)}`.padEnd(RECORD_LENGTH - 1) + '\n'), 0, RECORD_LENGTH, 0);
    } catch {
      // A full disk may refuse even this; the event is committed all the same.
    }
  };
  return {
    committed(position, id) {
      const at = Number(position);
      if (fd === undefined || at <= highest) return;
      highest = at;
      pending = { at, id };
      scheduled ??= setImmediate(flush);
    },
    recorded: () => recorded && { ...recorded, file },
    close() {
      if (scheduled) clearImmediate(scheduled);
      flush();
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
};

const readHead = (file: string): { position: number; id: string } | undefined => {
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, 'utf8');
  if (text.trim() === '') return undefined; // made, then the process died before its first write
  const match = RECORD.exec(text);
  if (!match) throw new StoreOpenError(`${file} is not an opledger head record (it should read 'opl-head 1 POSITION ID'); remove it if the log is known to be whole`);
  return { position: Number(match[1]), id: match[2]! };
};
