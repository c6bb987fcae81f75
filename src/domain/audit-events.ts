import { z } from 'zod';

/** The log's own stream for what auditors rely on: the signing key and signed checkpoints. */
export const AUDIT_STREAM = 'audit';

export const auditEventSchemas = {
  /** The public half of the Ed25519 key `cluster init` made (SPKI, PEM). */
  AuditKeyRecorded: z.object({ publicKey: z.string(), fingerprint: z.string() }),
  /** The head of the log at `position`, with its chain hash, signed at `time`. */
  CheckpointSigned: z.object({
    position: z.number().int().nonnegative(),
    hash: z.string().regex(/^[0-9a-f]{64}$/),
    time: z.string(),
    fingerprint: z.string(),
    signature: z.string(),
  }),
};
export type CheckpointSigned = z.infer<typeof auditEventSchemas.CheckpointSigned>;

export const isAuditEventType = (type: string): boolean => type in auditEventSchemas;

/** The exact bytes a checkpoint's signature covers. */
export const checkpointMessage = (c: { position: number; hash: string; time: string }): Buffer =>
  Buffer.from(`opledger-checkpoint-v1\n${c.position}\n${c.hash}\n${c.time}\n`, 'utf8');
