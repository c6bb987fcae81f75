import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { z } from 'zod';
import type { ConsolePiece, GuestState, HypervisorInstance } from '../../domain/ports/hypervisor.js';
import { connectQmp } from './qmp.js';

/** The most of a console one call answers: a follower asks again from where it ended. */
export const CONSOLE_PIECE_BYTES = 64 * 1024;
/** QEMU's monitor takes one client at a time: a guest whose monitor is held (a migration) is not waited on long. */
const MONITOR_WAIT_MS = 2_000;

const Status = z.object({ status: z.string().max(64) });
const MemorySummary = z.object({ 'base-memory': z.number().nonnegative() });

export interface KvmGuestFiles {
  paths(node: string, name: string): { qmp: string; serial: string };
  guestPid(node: string, name: string, uuid?: string): Promise<number | undefined>;
  /** Whether a send from this node follows the guest's migration now (it holds the monitor). */
  sending(node: string, name: string): boolean;
}

/**
 * What QEMU says of a guest (`query-status`, `query-memory-size-summary`), and its serial
 * console read from its file. Every answer of QEMU's is checked before it is believed.
 */
export const kvmGuestView = (files: KvmGuestFiles) => ({
  async inspect(node: string, instance: HypervisorInstance): Promise<GuestState | undefined> {
    const pid = await files.guestPid(node, instance.name, instance.uuid);
    if (!pid) return undefined;
    if (files.sending(node, instance.name)) return { status: 'migrating', pid };
    const qmp = await connectQmp(files.paths(node, instance.name).qmp, MONITOR_WAIT_MS).catch(() => undefined);
    if (!qmp) return { status: 'unknown (its monitor does not answer)', pid };
    try {
      const { status } = Status.parse(await qmp.execute('query-status', undefined, MONITOR_WAIT_MS));
      const memory = MemorySummary.safeParse(await qmp.execute('query-memory-size-summary', undefined, MONITOR_WAIT_MS).catch(() => undefined));
      return { status, pid, ...(memory.success && { memoryMib: Math.round(memory.data['base-memory'] / 2 ** 20) }) };
    } finally {
      qmp.close();
    }
  },
  async console(node: string, name: string, offset: number): Promise<ConsolePiece> {
    // The console file is QEMU's, in the node's own directory: a link there is never followed.
    const file = await open(files.paths(node, name).serial, constants.O_RDONLY | constants.O_NOFOLLOW).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      if (error.code === 'ELOOP') throw new Error(`the console of ${name} on node ${node} is a symbolic link: it is not followed`);
      throw error;
    });
    if (!file) return { data: Buffer.alloc(0), next: 0, size: 0 };
    try {
      const { size } = await file.stat();
      // A console shorter than where the reader was: the guest started again, so it is read from its start.
      const from = offset > size ? 0 : offset;
      const data = Buffer.alloc(Math.min(CONSOLE_PIECE_BYTES, size - from));
      const { bytesRead } = await file.read(data, 0, data.length, from);
      return { data: data.subarray(0, bytesRead), next: from + bytesRead, size };
    } finally {
      await file.close();
    }
  },
});
