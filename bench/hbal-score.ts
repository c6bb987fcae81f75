import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyPlacement } from './apply-placement.js';
import type { GanetiInput } from './ganeti-inputs.js';

/**
 * Ganeti's own verdict on a placement: the request's cluster with the answer applied,
 * scored by `hbal -I FILE -l 0` ("Initial score", without searching for a better
 * one); with several groups, the group the placement went to. Throws with hbal's
 * output when it prints no score.
 */
export const hbalScore = (dir: string, input: GanetiInput, node: string, hbal = 'hbal'): number => {
  const file = join(dir, `scored-${node}-${process.hrtime.bigint()}.json`);
  writeFileSync(file, JSON.stringify(applyPlacement(input, node)));
  const groups = input.nodegroups as Record<string, { name: string }>;
  const group = Object.keys(groups).length > 1 ? ['-G', groups[input.nodes[node]!.group as string]!.name] : [];
  const out = spawnSync(hbal, ['-I', file, '-l', '0', ...group], { encoding: 'utf8' });
  const match = /Initial score: ([\d.]+)/.exec(out.stdout ?? '');
  if (!match) throw new Error(`hbal gave no score: ${out.stdout}${out.stderr}`);
  return Number(match[1]);
};
