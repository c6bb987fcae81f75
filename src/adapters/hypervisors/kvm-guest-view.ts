import { z } from 'zod';
import type { ConsolePiece, GuestState, HypervisorInstance } from '../../domain/ports/hypervisor.js';
import { readPiece } from '../storage/confined-files.js';
import { runState } from './kvm-migration.js';
import { connectQmp } from './qmp.js';

/** The most of a console one call answers: a follower asks again from where it ended. */
export const CONSOLE_PIECE_BYTES = 64 * 1024;
/** QEMU's monitor takes one client at a time: a guest whose monitor is held (a migration, a stop) is not waited on long. */
const MONITOR_WAIT_MS = 2_000;

const MemorySummary = z.object({ 'base-memory': z.number().nonnegative() });

export interface KvmGuestFiles {
  /** The directory every node's guest files are under (DIR/NODE/kvm/NAME.*). */
  stateDir: string;
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
    if (!qmp) return { status: 'unknown (its monitor is busy or does not answer)', pid };
    try {
      const status = await runState(qmp, MONITOR_WAIT_MS);
      const memory = MemorySummary.safeParse(await qmp.execute('query-memory-size-summary', undefined, MONITOR_WAIT_MS).catch(() => undefined));
      return { status, pid, ...(memory.success && { memoryMib: Math.round(memory.data['base-memory'] / 2 ** 20) }) };
    } finally {
      qmp.close();
    }
  },
  async console(node: string, name: string, offset: number): Promise<ConsolePiece> {
    // QEMU's file, in the node's own directory: no link, FIFO or second name of a file elsewhere is read.
    const shown = `the console of ${name} on node ${node}`;
    const piece = await readPiece({ root: files.stateDir, dirs: [node, 'kvm'], name: `${name}.serial`, shown, full: files.paths(node, name).serial, kind: 'consoles' }, offset, CONSOLE_PIECE_BYTES);
    return piece ?? { data: Buffer.alloc(0), next: 0, size: 0 };
  },
});
