import { logicalIdOwner, type PendingLogicalId } from '../domain/logical-ids.js';
import type { Views } from '../projections/views.js';

/**
 * The logical ids sagas under way have learnt and recorded in their job's stream (a
 * create's or rename's answer), but not yet in the configuration: they are taken as
 * surely as a configured disk's, so a driver cannot hand one to a second disk.
 */
export const pendingLogicalIds = (views: Views): PendingLogicalId[] => {
  const found: PendingLogicalId[] = [];
  for (const saga of views.cluster.sagas.values()) {
    const steps = views.jobs.get(saga.jobId)?.opcodes[saga.opIndex]?.saga?.steps ?? [];
    for (const step of steps) {
      const e = step.effect;
      const id = step.outcome?.logicalId;
      if (step.undo || id === undefined || e.kind !== 'disk' || typeof e.pool !== 'string') continue;
      if (e.action !== 'create' && e.action !== 'rename') continue;
      // An undone create gave its volume back.
      if (steps.some((s) => s.undo && s.step === step.step && s.outcome)) continue;
      found.push({ pool: e.pool, logicalId: id, instanceUuid: String(e.instanceUuid), diskIndex: Number(e.disk), jobId: saga.jobId });
    }
  }
  return found;
};

export interface LogicalIdClaims {
  /**
   * Takes `id` in `pool` for a disk, or says who holds it. Checked against the
   * configuration, the sagas under way and the calls of this engine not yet recorded;
   * the check and the taking happen with nothing awaited between them.
   */
  claim(call: { callId: string; jobId: number }, pool: string, id: string, self: { instanceUuid: string; diskIndex: number }): Promise<string | undefined>;
  /** Lets go of what a call took, once its outcome is in the log (where the sagas' scan finds it). */
  release(callId: string): void;
}

export const createLogicalIdClaims = (views: () => Promise<Views>): LogicalIdClaims => {
  const claims = new Map<string, PendingLogicalId & { callId: string }>();
  return {
    async claim({ callId, jobId }, pool, id, self) {
      const current = await views();
      const owner = logicalIdOwner(current.cluster, [...pendingLogicalIds(current), ...claims.values()], pool, id, self);
      if (owner) return `the logical id '${id}' is already ${owner.description} in pool '${pool}'`;
      claims.set(`${pool}\0${id}`, { callId, pool, logicalId: id, ...self, jobId });
      return undefined;
    },
    release(callId) {
      for (const [key, c] of claims) if (c.callId === callId) claims.delete(key);
    },
  };
};
