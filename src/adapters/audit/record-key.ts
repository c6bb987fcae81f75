import { randomUUID } from 'node:crypto';
import { AUDIT_STREAM, auditEventSchemas } from '../../domain/audit-events.js';
import type { EventStore } from '../../domain/ports/event-store.js';
import { ensureAuditKey, type AuditKey } from './keys.js';

/** The public keys the log has recorded, by fingerprint, in the order recorded. */
export const recordedAuditKeys = async (store: EventStore): Promise<Map<string, string>> => {
  const keys = new Map<string, string>();
  for await (const e of store.readStream(AUDIT_STREAM)) {
    if (e.type !== 'AuditKeyRecorded') continue;
    const parsed = auditEventSchemas.AuditKeyRecorded.safeParse(e.data);
    if (parsed.success) keys.set(parsed.data.fingerprint, parsed.data.publicKey);
  }
  return keys;
};

/**
 * Makes the data dir's signing key if there is none, and records its public half in the
 * log unless the log has it already: run by `cluster init`, and by the first checkpoint
 * of a cluster initialised before checkpoints existed.
 */
export const ensureRecordedAuditKey = async (store: EventStore, dataDir: string, actor: string): Promise<{ key: AuditKey; recorded: boolean }> => {
  const key = ensureAuditKey(dataDir);
  if ((await recordedAuditKeys(store)).has(key.fingerprint)) return { key, recorded: false };
  await store.append(
    AUDIT_STREAM,
    [{ id: randomUUID(), type: 'AuditKeyRecorded', data: { publicKey: key.publicKeyPem, fingerprint: key.fingerprint }, metadata: { actor, recordedAt: new Date().toISOString() } }],
    'any',
  );
  return { key, recorded: true };
};
