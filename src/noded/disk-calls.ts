import { z } from 'zod';
import type { DiskStorage, DiskTarget, StorageContext } from '../domain/ports/disk-storage.js';
import { diskSchema } from '../domain/events.js';
import { checkedBody } from './checked-body.js';
import type { Handler } from './http.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,253}$/;

/** A disk as the engine names it to a node: only the templates a node daemon keeps as files. */
const DiskCallBody = z.object({
  node: z.string(),
  target: z.object({
    nodeName: z.string(),
    template: z.enum(['file', 'sharedfile'], { message: "expected 'file' or 'sharedfile'" }),
    instance: z.object({ name: z.string().regex(NAME, 'expected an instance name'), uuid: z.string().min(1).max(64), tags: z.array(z.string()).max(1024) }),
    disk: diskSchema,
    peers: z.array(z.string()).max(10_000),
  }),
  sizeMib: z.number().int().positive().optional(),
  newInstanceName: z.string().regex(NAME, 'expected an instance name').optional(),
  proposedLogicalId: z.string().max(4096).optional(),
});

/** File disks report no driver calls and ask nothing back: the context is for the port's sake. */
const QUIET: StorageContext = { recordCall: async () => undefined, log: async () => undefined };

/**
 * `file` and `sharedfile` disks, made on the node that holds them: `disk-create`,
 * `disk-grow`, `disk-remove`, `disk-rename`, `disk-attach`, `disk-detach`. Each is
 * idempotent (the storage's promise), so a call retried after a lost answer is harmless.
 * The target must name this node; a sharedfile disk must lie in one of the node's own
 * storage directories (the storage checks it).
 */
export const diskCalls = (nodeName: string, files: DiskStorage): Record<string, Handler> => {
  const check = checkedBody('a disk call', DiskCallBody, nodeName);
  const checked = (body: unknown) => {
    const call = check(body);
    if (call.target.nodeName !== nodeName) throw Object.assign(new Error(`a disk call for a disk on node '${call.target.nodeName}' reached node '${nodeName}'`), { status: 400 });
    return { ...call, target: call.target as DiskTarget };
  };
  const needs = <T>(value: T | undefined, field: string): T => {
    if (value === undefined) throw Object.assign(new Error(`a disk call without '${field}'`), { status: 400 });
    return value;
  };
  return {
    'disk-create': (body) => files.create(checked(body).target, QUIET),
    'disk-grow': (body) => {
      const call = checked(body);
      return files.grow(call.target, needs(call.sizeMib, 'sizeMib'), QUIET);
    },
    'disk-remove': async (body) => (await files.remove(checked(body).target, QUIET), {}),
    'disk-rename': (body) => {
      const call = checked(body);
      return files.rename(call.target, needs(call.newInstanceName, 'newInstanceName'), needs(call.proposedLogicalId, 'proposedLogicalId'), QUIET);
    },
    'disk-attach': (body) => files.attach(checked(body).target, QUIET),
    'disk-detach': async (body) => (await files.detach(checked(body).target, QUIET), {}),
  };
};
