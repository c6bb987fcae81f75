import * as E from 'fp-ts/lib/Either.js';
import { z } from 'zod';
import { checkHvParams, type HvParams } from '../domain/hv-params.js';

/** The instance's kvm parameters, checked here again: a node believes no caller. */
const hvParams = z
  .record(z.string(), z.string())
  .superRefine((given, ctx) => {
    const checked = checkHvParams('kvm', given);
    if (E.isLeft(checked)) ctx.addIssue({ code: 'custom', message: checked.left });
  })
  .transform((given) => given as HvParams);

/**
 * What a hypervisor call carries: the instance as the engine knows it, checked before
 * anything runs. Strict: a field this daemon does not know is refused, not dropped — a
 * newer engine's kvm parameters or shutdown timeout, ignored, would start the wrong
 * kernel or end a guest sooner than asked.
 */
export const HypervisorCallBody = z.strictObject({
  node: z.string(),
  instance: z.strictObject({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,253}$/, 'expected an instance name'),
    uuid: z.string().min(1).max(64),
    memoryMib: z.number().int().positive(),
    vcpus: z.number().int().positive(),
    hypervisor: z.enum(['fake', 'kvm']).default('fake'),
    hvParams: hvParams.optional(),
    disks: z.array(z.string().startsWith('/', 'expected an absolute path').max(4096)).max(16).optional(),
  }),
  /** A stop's shutdown timeout (Ganeti's --timeout): within what the engine waits for the call. */
  timeoutSeconds: z.number().int().min(0).max(150, 'at most 150 seconds').optional(),
});
