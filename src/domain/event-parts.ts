import { z } from 'zod';

/** Payload parts more than one event type carries: a disk as configured, an undo a node owes. */
export const diskSchema = z.object({
  index: z.number().int(),
  sizeMib: z.number(),
  /** The storage's name for the disk: a path, or what a driver's `create` printed. */
  logicalId: z.string(),
  pool: z.string().optional(),
  params: z.record(z.string(), z.string()).default({}),
  adopted: z.boolean().default(false),
  /**
   * An adopted device's number (major:minor) as its primary node saw it when it was
   * decided: its identity, whatever name it was adopted by. Absent from disks that
   * are not adopted, and from events recorded before it was kept.
   */
  deviceNumber: z.string().regex(/^\d+:\d+$/).optional(),
  /**
   * What an adopted device is built from as its primary saw it (see DeviceSighting):
   * keys shared by every device reaching the same blocks. Absent from older events.
   */
  underlying: z.array(z.string()).optional(),
});
export type DiskRecord = z.infer<typeof diskSchema>;

/** An undo a saga could not do on a node that did not answer: the call, whole, to make later. */
export const owedUndoSchema = z.object({
  id: z.string().min(1),
  nodeUuid: z.string(),
  jobId: z.number().int(),
  opIndex: z.number().int(),
  step: z.number().int().positive(),
  what: z.string(),
  effect: z.record(z.string(), z.unknown()),
});
export type OwedUndo = z.infer<typeof owedUndoSchema>;
