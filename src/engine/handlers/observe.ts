import type { CleanupObservation } from '../../domain/cluster-decide.js';
import { findInstance, findNode } from '../../domain/cluster-state.js';
import { candidates } from '../../domain/mobility.js';
import type { Hypervisor } from '../../domain/ports/hypervisor.js';
import type { HandlerContext } from './handler.js';

/**
 * For migrate --cleanup: asks the hypervisor of every online node the instance could
 * be on where it runs, and traces its disks' attach and detach calls through every
 * job, so the decider knows where they may still be attached.
 * Says what it saw.
 */
export const observeInstance = async (ctx: HandlerContext, hypervisor: Hypervisor, name: string): Promise<CleanupObservation | undefined> => {
  const state = await ctx.state();
  const instance = findInstance(state, name);
  if (!instance) return undefined;
  const attached = new Set<string>();
  for (const other of [...ctx.projector.views.jobs.values()].sort((a, b) => a.id - b.id)) {
    for (const call of other.opcodes.flatMap((o) => o.storageCalls)) {
      if (call.instanceUuid !== instance.uuid || call.outcome !== 'ok') continue;
      if (call.action === 'attach') attached.add(call.node);
      if (call.action === 'detach' || call.action === 'remove') attached.delete(call.node);
    }
  }
  const primary = state.nodes.get(instance.primaryNodeUuid)!.name;
  const asked = [...new Set([primary, ...candidates(state, instance), ...attached])].filter((n) => !findNode(state, n)?.offline).sort();
  const runningOn: string[] = [];
  for (const node of asked) if ((await hypervisor.running(node)).includes(instance.name)) runningOn.push(node);
  const attachedOn = [...attached].sort();
  await ctx.log(`cleanup: asked ${asked.join(', ')}: ${instance.name} runs on ${runningOn.join(', ') || 'no node'}; its disks may be attached on ${attachedOn.join(', ') || 'no node but its primary'}`);
  return { runningOn, attachedOn };
};
