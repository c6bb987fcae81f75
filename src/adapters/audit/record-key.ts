import { randomUUID } from 'node:crypto';
import { AUDIT_STREAM, auditEventSchemas } from '../../domain/audit-events.js';
import type { EventStore } from '../../domain/ports/event-store.js';
import { auditKeyPath, ensureAuditKey, loadAuditKey, type AuditKey } from './keys.js';

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
 * log unless the log has it already: run by `cluster init` (a new cluster, a new key),
 * and by the first checkpoint of a cluster initialised before checkpoints existed.
 *
 * A checkpoint (`newCluster` false) on a log that already records a key signs only with
 * that key: a second data dir on the same PostgreSQL store would otherwise make and
 * record a key of its own, and auditors holding the cluster's published key would see
 * its checkpoints as forged.
 */
export const ensureRecordedAuditKey = async (
  store: EventStore,
  dataDir: string,
  actor: string,
  options: { newCluster?: boolean } = {},
): Promise<{ key: AuditKey; recorded: boolean }> => {
  const known = await recordedAuditKeys(store);
  if (!options.newCluster && known.size > 0) {
    const local = loadAuditKey(dataDir);
    if (local && known.has(local.fingerprint)) return { key: local, recorded: false };
    const recorded = [...known.keys()].pop()!;
    throw new Error(
      `the log's audit key is ${recorded}, and ${local ? `this data dir's key ${auditKeyPath(dataDir)} is ${local.fingerprint}` : `this data dir (${dataDir}) has none`}: sign checkpoints where 'cluster init' made the key, or copy its ${auditKeyPath('DATA_DIR')} here (mode 0600); nothing was signed`,
    );
  }
  const key = ensureAuditKey(dataDir);
  if (known.has(key.fingerprint)) return { key, recorded: false };
  await store.append(
    AUDIT_STREAM,
    [{ id: randomUUID(), type: 'AuditKeyRecorded', data: { publicKey: key.publicKeyPem, fingerprint: key.fingerprint }, metadata: { actor, recordedAt: new Date().toISOString() } }],
    'any',
  );
  return { key, recorded: true };
};
