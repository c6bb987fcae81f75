import { z } from 'zod';
import type { ConsolePiece, GuestState, HypervisorInstance } from '../../domain/ports/hypervisor.js';
import { believed, NodeCallError } from '../nodes/node-answer.js';
import { CONSOLE_PIECE_BYTES } from './kvm-guest-view.js';
import type { NodeCaller } from './node-routed.js';
import { wireInstance } from './node-routed-migration.js';

const count = z.number().int().nonnegative();
const Inspected = z.object({ guest: z.object({ status: z.string().max(64), pid: count.optional(), memoryMib: count.optional() }).nullable() });
const Piece = z.object({ data: z.base64().max(Math.ceil(CONSOLE_PIECE_BYTES / 3) * 4), next: count, size: count });
/** Asking a node about a guest is a quick look, as every question to the nodes (README: 3 s): not retried. */
const LOOK_MS = 3_000;


/** A guest's own state and its console, asked of the daemon of the node it is on. */
export const nodeRoutedGuests = (daemonOf: (node: string) => NodeCaller) => ({
  async inspect(node: string, instance: HypervisorInstance): Promise<GuestState | undefined> {
    const answer = await daemonOf(node).call('hv-inspect', { node, instance: wireInstance(instance) }, { timeoutMs: LOOK_MS, retries: 0 });
    return believed(Inspected, answer, node, 'what its hypervisor says of a guest').guest ?? undefined;
  },
  async console(node: string, name: string, offset: number): Promise<ConsolePiece> {
    const piece = believed(Piece, await daemonOf(node).call('hv-console', { node, name, offset }, { timeoutMs: LOOK_MS, retries: 1 }), node, 'a piece of a console');
    const data = Buffer.from(piece.data, 'base64');
    // A piece adds up: it starts where asked (or at 0, for a console made again) and ends within the console.
    const from = offset > piece.size ? 0 : offset;
    if (piece.next !== from + data.length || piece.next > piece.size) throw new NodeCallError('bad-answer', `node ${node} answered a console piece that does not add up (from ${offset}: ${data.length} bytes, next ${piece.next}, size ${piece.size})`);
    return { data, next: piece.next, size: piece.size };
  },
});
