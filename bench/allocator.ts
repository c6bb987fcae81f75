import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hbalScore } from './hbal-score.js';
import { allocateInput, relocateInput, type InputShape } from './ganeti-inputs.js';
import { figure } from './measure.js';

/**
 * opl-ialloc against Ganeti's hail on the same generated Ganeti v2 inputs, both run
 * as programs (process start included). For each input: seconds for each, their
 * ratio, the verdict (placed or not) of each, and each placement's resulting cluster
 * score as `hbal -I` reads it ("Initial score"; lower is better).
 */
const HAIL = process.env.BENCH_HAIL ?? '/usr/lib/ganeti/iallocators/hail';
const HBAL = process.env.BENCH_HBAL ?? 'hbal';
const OURS = fileURLToPath(new URL('../bin/opl-ialloc.js', import.meta.url));
const SIZES = (process.env.BENCH_ALLOC_NODES ?? '20,50,100,200,1000').split(',').map(Number);
/** hail takes minutes from a few hundred nodes on; above this it is not run. */
const HAIL_MAX_NODES = Number(process.env.BENCH_HAIL_MAX_NODES ?? 200);
const HAIL_TIMEOUT_S = Number(process.env.BENCH_HAIL_TIMEOUT_S ?? 900);
const REPEATS = Number(process.env.BENCH_ALLOC_REPEATS ?? 3);

interface Run {
  seconds: number;
  success: boolean;
  node: string | undefined;
  info: string;
}

const run = (program: string[], file: string, timeoutS: number): Run => {
  const start = process.hrtime.bigint();
  const child = spawnSync(program[0]!, [...program.slice(1), file], { encoding: 'utf8', timeout: timeoutS * 1000, maxBuffer: 64 * 1024 * 1024 });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (child.error || child.status !== 0) return { seconds, success: false, node: undefined, info: `did not answer: ${child.error?.message ?? `exit ${child.status}: ${child.stderr.trim().split('\n').at(-1)}`}` };
  const answer = JSON.parse(child.stdout) as { success: boolean; info: string; result: string[] };
  return { seconds, success: answer.success, node: answer.result[0], info: answer.info };
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const inputs: { name: string; shape: InputShape; mode: 'allocate' | 'relocate' }[] = [
  ...SIZES.flatMap((nodes) => (['allocate', 'relocate'] as const).map((mode) => ({ name: `${nodes}x10`, shape: { nodes, perNode: 10, seed: nodes }, mode }))),
  // Small and full: the global N+1 check decides, and both must refuse.
  { name: 'tight-4x10', shape: { nodes: 4, perNode: 10, seed: 3, nodeMemory: 24576 }, mode: 'allocate' },
  { name: 'snug-20x10', shape: { nodes: 20, perNode: 10, seed: 7, nodeMemory: 30720 }, mode: 'allocate' },
  // Two groups, three node sizes, offline and drained nodes, local-disk instances.
  { name: 'mixed-12x8', shape: { nodes: 12, perNode: 8, seed: 1, nodeMemory: 32768, mixed: true }, mode: 'allocate' },
  { name: 'mixed-40x8', shape: { nodes: 40, perNode: 8, seed: 4, nodeMemory: 32768, mixed: true }, mode: 'allocate' },
];

const dir = mkdtempSync(join(tmpdir(), 'opl-bench-alloc-'));
const hailHere = existsSync(HAIL);
try {
  for (const { name, shape, mode } of inputs) {
    const input = mode === 'allocate' ? allocateInput(shape, shape.nodeMemory ? 4096 : 2048) : relocateInput(shape);
    const file = join(dir, `${mode}-${name}.json`);
    writeFileSync(file, JSON.stringify(input));
    const ours = Array.from({ length: REPEATS }, () => run([process.execPath, OURS], file, 60));
    const oursSeconds = median(ours.map((r) => r.seconds));
    const hail = hailHere && shape.nodes <= HAIL_MAX_NODES ? run([HAIL], file, HAIL_TIMEOUT_S) : undefined;
    const first = ours[0]!;
    process.stdout.write(`${JSON.stringify({
      ...figure({ bench: mode, value: oursSeconds, unit: 's', reference: hail?.seconds ?? null, referenceWhat: hail ? 'hail, same input, process start included' : `hail not run (${hailHere ? `above ${HAIL_MAX_NODES} nodes` : 'not installed'})` }),
      input: name,
      nodes: shape.nodes,
      instances: shape.nodes * shape.perNode,
      speedup: hail ? Math.round((hail.seconds / oursSeconds) * 10) / 10 : null,
      placed: first.success,
      hailPlaced: hail?.success ?? null,
      sameVerdict: hail ? hail.success === first.success : null,
      score: first.node ? hbalScore(dir, input, first.node, HBAL) : null,
      hailScore: hail?.node ? hbalScore(dir, input, hail.node, HBAL) : null,
      node: first.node ?? null,
      hailNode: hail?.node ?? null,
      ...(!first.success && { info: first.info }),
      ...(hail && !hail.success && { hailInfo: hail.info }),
    })}\n`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
