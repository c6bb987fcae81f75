import { FencedError } from '../domain/ports/event-store.js';
import type { JobView } from '../projections/job-view.js';
import type { Projector } from '../projections/projector.js';
import { storageContext, type JobLog } from './job-log.js';
import { describeEffect, runEffect, type Effect, type EffectPorts } from './sagas/effect.js';

/**
 * For logs written by engines that ran side effects before recording anything (no
 * sagas): disks such an engine had a driver create for this opcode but never recorded
 * are found in the job's driver calls and removed before the opcode runs again, so
 * that crash does not leak them either. Sagas never need this: their decision and
 * intents are in the log before any call.
 */
export const removeUnrecordedDisks = async (deps: EffectPorts & { projector: Projector; jobLog: JobLog }, job: JobView, index: number): Promise<void> => {
  const state = deps.projector.views.cluster;
  const known = new Set([...state.instances.values()].flatMap((i) => i.disks.map((d) => d.logicalId)));
  const calls = job.opcodes[index]!.storageCalls;
  const leaked = calls.filter(
    (c) => c.action === 'create' && c.outcome === 'ok' && c.logicalId && !known.has(c.logicalId) && !calls.some((r) => r.action === 'remove' && r.outcome === 'ok' && r.logicalId === c.logicalId),
  );
  if (leaked.length === 0) return;
  await deps.jobLog.log(job, index, `found ${leaked.length} disk(s) created by the lost engine but never recorded: ${leaked.map((c) => c.logicalId).join(', ')}`, 'warning');
  for (const call of leaked) {
    const pool = state.pools.get(call.pool);
    const effect: Effect = {
      kind: 'disk',
      action: 'remove',
      target: {
        nodeName: call.node,
        template: 'ext',
        instance: { name: call.instance, uuid: call.instanceUuid, tags: [] },
        disk: { index: call.diskIndex, sizeMib: 0, logicalId: call.logicalId!, pool: call.pool, params: {}, adopted: false },
        peers: [call.node],
        ...(pool && { pool }),
      },
    };
    await deps.jobLog.log(job, index, `undoing: ${describeEffect(effect)}`, 'warning');
    try {
      await runEffect(deps, effect, storageContext(deps.jobLog, job, index));
    } catch (error) {
      if (error instanceof FencedError) throw error;
      await deps.jobLog.log(job, index, `could not undo (${describeEffect(effect)}): ${error instanceof Error ? error.message : String(error)}; clean it up by hand`, 'error');
    }
  }
};
