import { posix } from 'node:path';
import { z } from 'zod';
import { removeProbe, surveyFiles, unseenProbes } from '../adapters/storage/file-survey.js';
import { checkedBody } from './checked-body.js';
import type { Handler } from './http.js';

const Dir = z.string().startsWith('/', 'expected an absolute path').max(4096);
const ProbeBody = z.object({ name: z.string().max(256), token: z.string().max(256) });
const SurveyBody = z.object({ node: z.string(), sharedDir: Dir.optional(), probe: ProbeBody.optional() });
const ProbesBody = z.object({ node: z.string(), sharedDir: Dir, probes: z.array(ProbeBody).max(10_000) });
const RemoveBody = z.object({ node: z.string(), sharedDir: Dir, name: z.string().max(256) });

const forbidden = (sharedDir: string) =>
  Object.assign(new Error(`${sharedDir} is not one of this node's storage directories`), { status: 403 });

/**
 * What `cluster verify` asks a node about its file storage, answered from this host:
 * its `file` directory and the shared one (only if node.json gives it), probes written,
 * read and removed there. Probe names are checked (`.opl-verify-…`), so no call can
 * write, read or remove any other file.
 */
export const verifyCalls = (nodeName: string, fileDir: string, storageDirs: readonly string[]): Record<string, Handler> => {
  const given = (dir: string) => {
    if (!storageDirs.some((d) => posix.normalize(d).replace(/\/+$/, '') === dir)) throw forbidden(dir);
    return dir;
  };
  const survey = checkedBody('a verify call', SurveyBody, nodeName);
  const probes = checkedBody('a verify call', ProbesBody, nodeName);
  const remove = checkedBody('a verify call', RemoveBody, nodeName);
  return {
    'verify-survey': (body) => {
      const call = survey(body);
      return surveyFiles(fileDir, call.sharedDir, storageDirs, call.probe);
    },
    'verify-probes': async (body) => {
      const call = probes(body);
      return { unseen: (await unseenProbes(given(call.sharedDir), call.probes)).map((p) => p.name) };
    },
    'verify-probe-remove': async (body) => {
      const call = remove(body);
      await removeProbe(given(call.sharedDir), call.name);
      return {};
    },
  };
};
