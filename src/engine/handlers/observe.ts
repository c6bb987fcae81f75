import type { CleanupObservation } from '../../domain/cluster-decide.js';
import { findInstance, findNode } from '../../domain/cluster-state.js';
import { candidates } from '../../domain/mobility.js';
import type { Hypervisor } from '../../domain/ports/hypervisor.js';
import { hvInstance } from '../sagas/targets.js';
import type { HandlerContext } from './handler.js';

/** QEMU's run states of a copy that holds no guest of its own: a migration's source after it, or a target before it. */
const NOT_THE_GUEST = new Set(['postmigrate', 'inmigrate', 'finish-migrate', 'prelaunch']);

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
  const leftOn: string[] = [];
  const said: string[] = [];
  for (const node of asked) {
    if (!(await hypervisor.running(node)).includes(instance.name)) continue;
    // A kvm guest's QEMU is asked what it is: a migration's paused source or waiting target is not the guest.
    const state = instance.hypervisor === 'kvm' && hypervisor.inspect ? await hypervisor.inspect(node, hvInstance(instance)).catch(() => undefined) : undefined;
    if (state) said.push(`QEMU on ${node} says '${state.status}'`);
    (state && NOT_THE_GUEST.has(state.status) ? leftOn : runningOn).push(node);
  }
  const attachedOn = [...attached].sort();
  const copies = leftOn.length ? `; a copy that is not the guest on ${leftOn.join(', ')}` : '';
  await ctx.log(`cleanup: asked ${asked.join(', ')}: ${instance.name} runs on ${runningOn.join(', ') || 'no node'}${copies}${said.length ? ` (${said.join(', ')})` : ''}; its disks may be attached on ${attachedOn.join(', ') || 'no node but its primary'}`);
  return { runningOn, attachedOn, leftOn };
};
