import { join } from 'node:path';
import { z } from 'zod';
import type { NodeStorageCheck, Probe } from '../../domain/ports/node-storage-check.js';
import type { NodeCaller } from '../hypervisors/node-routed.js';
import { NodeCallError } from '../nodes/node-answer.js';
import { removeProbe, surveyFiles, unseenProbes } from './file-survey.js';

/** Local nodes: directories on this machine, `NODES/NAME/file-storage`, and the shared directory here. */
export const localStorageCheck = (nodesDir: string): NodeStorageCheck => ({
  survey: (node, sharedDir, probe) => surveyFiles(join(nodesDir, node, 'file-storage'), sharedDir, undefined, probe),
  unseen: (_node, sharedDir, probes) => unseenProbes(sharedDir, probes),
  removeProbe: (_node, sharedDir, name) => removeProbe(sharedDir, name),
});

const DISK = /^[A-Za-z0-9._-]+\/disk\d+$/;
const Survey = z.object({
  fileDisks: z.array(z.string().regex(DISK)),
  sharedDisks: z.array(z.string().startsWith('/')).optional(),
  sharedProblem: z.string().max(2000).optional(),
});
const Unseen = z.object({ unseen: z.array(z.string()) });

/**
 * The same questions to whichever node is named: a node with a daemon answers from its
 * own host (`verify-survey`, `verify-probes`, `verify-probe-remove`), a local one here.
 * An answer is believed only in the shape promised, and only about the probes asked.
 */
export const nodeRoutedStorageCheck = (local: NodeStorageCheck, route: (nodeName: string) => NodeCaller | undefined): NodeStorageCheck => {
  const bad = (node: string, call: string) => new NodeCallError('bad-answer', `node ${node} answered ${call} with something that is not what the call promises`);
  return {
    survey: async (node, sharedDir, probe) => {
      const daemon = route(node);
      if (!daemon) return local.survey(node, sharedDir, probe);
      const parsed = Survey.safeParse(await daemon.call('verify-survey', { node, ...(sharedDir !== undefined && { sharedDir }), ...(probe && { probe }) }));
      if (!parsed.success) throw bad(node, 'verify-survey');
      const { fileDisks, sharedDisks, sharedProblem } = parsed.data;
      return { fileDisks, ...(sharedDisks && { sharedDisks }), ...(sharedProblem !== undefined && { sharedProblem }) };
    },
    unseen: async (node, sharedDir, probes) => {
      const daemon = route(node);
      if (!daemon) return local.unseen(node, sharedDir, probes);
      const parsed = Unseen.safeParse(await daemon.call('verify-probes', { node, sharedDir, probes }));
      if (!parsed.success) throw bad(node, 'verify-probes');
      const named = new Set(parsed.data.unseen);
      return probes.filter((p: Probe) => named.has(p.name));
    },
    removeProbe: async (node, sharedDir, name) => {
      const daemon = route(node);
      if (!daemon) return local.removeProbe(node, sharedDir, name);
      await daemon.call('verify-probe-remove', { node, sharedDir, name });
    },
  };
};
