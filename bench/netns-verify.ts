import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { figure, round, type Figure } from './measure.js';

/**
 * `cluster verify` of a cluster of namespaced hosts (scripts/netns-cluster.sh), each
 * running opl-noded: the whole command, a fresh `opl` process in the engine's namespace
 * asking every node at once, wall time, median of 5. The reference is `node -e 0` in
 * the same namespace: what any command costs before it does anything.
 */
const HOSTS = Number(process.env.BENCH_VERIFY_NODES ?? 50);
const RUNS = 5;
const SCRIPT = fileURLToPath(new URL('../scripts/netns-cluster.sh', import.meta.url));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const wall = (command: string, args: string[], timeoutMs = 60_000): number => {
  const start = process.hrtime.bigint();
  const result = spawnSync(command, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: exit ${result.status}: ${result.stderr}`);
  return seconds;
};

export const benchNetnsVerify = async (): Promise<Figure> => {
  const prefix = `b${process.pid % 100000}`;
  const work = mkdtempSync(join(tmpdir(), 'opl-bench-netns-'));
  try {
    const setup = wall('bash', [SCRIPT, 'up', prefix, String(HOSTS), work], 600_000);
    const verify: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      verify.push(wall('bash', [SCRIPT, 'opl', prefix, work, 'cluster', 'verify', '--output', 'json']));
      bare.push(wall('ip', ['netns', 'exec', `${prefix}-h0`, process.execPath, '-e', '0']));
    }
    const report = JSON.parse(execFileSync('bash', [SCRIPT, 'opl', prefix, work, 'cluster', 'verify', '--output', 'json']).toString()) as { nodes: { status: string }[] };
    const answered = report.nodes.filter((n) => n.status === 'ok').length;
    if (answered !== HOSTS) throw new Error(`cluster verify bench: ${answered} of ${HOSTS} nodes answered`);
    return figure({
      bench: 'cluster-verify',
      value: median(verify),
      unit: `s per cluster verify of ${HOSTS} namespaced nodes (whole command, median of ${RUNS})`,
      reference: median(bare),
      referenceWhat: "'node -e 0' in the engine's namespace",
      nodes: HOSTS,
      answered,
      beyondStartS: round(median(verify) - median(bare)),
      setupS: round(setup),
    });
  } finally {
    execFileSync('bash', [SCRIPT, 'down', prefix, work], { timeout: 120_000 });
    rmSync(work, { recursive: true, force: true });
  }
};
