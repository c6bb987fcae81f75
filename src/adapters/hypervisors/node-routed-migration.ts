import { z } from 'zod';
import { MigrationUriSchema } from '../../domain/node-address.js';
import type { HypervisorInstance, LiveMigration, MigrationProgress } from '../../domain/ports/hypervisor.js';
import { believed } from '../nodes/node-answer.js';
import type { NodeCaller } from './node-routed.js';

/** A migration's calls wait on QEMU: its send on the whole stream (the node gives up at 170 s). */
const MIGRATION_CALL_MS = 180_000;
/** How often the source is asked how far a send has got, for the job's progress lines. */
const PROGRESS_EVERY_MS = 1_000;

const count = z.number().int().nonnegative();
const Accepted = z.object({ uri: MigrationUriSchema });
const Stats = z.object({ totalMs: count, downtimeMs: count, bytes: count });
const Progress = z.object({
  progress: z.object({ status: z.string().max(64), transferredBytes: count, remainingBytes: count, totalBytes: count, expectedDowntimeMs: count.optional() }).nullable(),
});

/** An instance as a node's hypervisor calls carry it. */
export const wireInstance = (instance: HypervisorInstance) => ({
  name: instance.name,
  uuid: instance.uuid,
  memoryMib: instance.memoryMib,
  vcpus: instance.vcpus,
  ...(instance.hypervisor && { hypervisor: instance.hypervisor }),
  ...(instance.hvParams && { hvParams: instance.hvParams }),
  ...(instance.disks?.length && { disks: instance.disks }),
});

/**
 * Live migration through the nodes' daemons: each side's part runs on its own host, and
 * the stream goes between them over the node network, never through the engine. While
 * the source sends, it is asked now and then how far it has got (a failed question is
 * only a missing progress line).
 */
export const nodeRoutedMigration = (daemonOf: (node: string) => NodeCaller): LiveMigration => {
  const call = (node: string, method: string, body: Record<string, unknown>) => daemonOf(node).call(method, { node, ...body }, { timeoutMs: MIGRATION_CALL_MS });
  return {
    accept: async (node, instance, address) => believed(Accepted, await call(node, 'hv-accept', { instance: wireInstance(instance), address }), node, 'where it waits for the migration'),
    send: async (node, instance, uri, progress) => {
      const sending = call(node, 'hv-send', { instance: wireInstance(instance), uri });
      let over = false;
      let wake: (() => void) | undefined;
      const follow = async () => {
        while (!over && progress) {
          // Woken early once the send answers, so following it never delays the migration.
          await new Promise<void>((r) => {
            const timer = setTimeout(r, PROGRESS_EVERY_MS);
            wake = () => (clearTimeout(timer), r());
          });
          if (over) return;
          const answer = await daemonOf(node).call('hv-migration', { node, name: instance.name }, { timeoutMs: 5_000, retries: 0 }).catch(() => undefined);
          const parsed = Progress.safeParse(answer);
          if (!over && parsed.success && parsed.data.progress) progress(parsed.data.progress as MigrationProgress);
        }
      };
      const following = follow();
      try {
        return believed(Stats, await sending, node, 'what the migration cost');
      } finally {
        over = true;
        wake?.();
        await following;
      }
    },
    confirm: async (node, instance) => void (await call(node, 'hv-confirm', { instance: wireInstance(instance) })),
    resume: async (node, instance, options) =>
      void (await call(node, 'hv-resume', { instance: wireInstance(instance), ...(options?.evenIfCompleted && { evenIfCompleted: true }) })),
    withdraw: async (node, instance) => void (await call(node, 'hv-withdraw', { instance: wireInstance(instance) })),
  };
};
