import { z } from 'zod';
import type { OobCommand } from '../../domain/opcodes.js';
import type { OobAnswer, OutOfBand } from '../../domain/ports/out-of-band.js';
import { runBounded } from '../process/run-bounded.js';

/** Ganeti's default oob_timeout. */
export const OOB_TIMEOUT_MS = 60_000;
const OUTPUT_LIMIT = 64 * 1024;

/** Ganeti's power-status answer: a JSON object with a boolean `powered`. */
const PowerStatus = z.object({ powered: z.boolean() });

/** Why a program could not be started, in our words, from runBounded's `spawn PROGRAM CODE`. */
const CANNOT_START: Record<string, string> = { ENOENT: 'there is no such file', EACCES: 'it is not executable', EISDIR: 'it is a directory, not a program' };
const cannotStart = (stderr: string): string | undefined => {
  const code = /^spawn .* (E[A-Z]+)$/.exec(stderr.trim())?.[1];
  return code === undefined ? undefined : (CANNOT_START[code] ?? `it could not be run (${code})`);
};

const firstLine = (text: string): string => text.trim().split('\n')[0]?.slice(0, 300) ?? '';

/**
 * Runs oob programs as Ganeti does: `PROGRAM COMMAND NODE`, exit 0 for success, a
 * power-status printed as `{"powered": true|false}` on stdout, nothing believed
 * otherwise. Bounded in time and output; what it leaves running is ended. Its failures
 * say what the program did; the caller says which program, for what.
 */
export const oobPrograms = (options: { timeoutMs?: number } = {}): OutOfBand => ({
  async run(program: string, command: OobCommand, node: string): Promise<OobAnswer> {
    const timeoutMs = options.timeoutMs ?? OOB_TIMEOUT_MS;
    const run = await runBounded(program, { args: [command, node], timeoutMs, outputLimit: OUTPUT_LIMIT });
    if (run.timedOut) throw new Error(`it gave no answer within ${timeoutMs / 1000} s and was ended`);
    if (run.exitCode === null) throw new Error(cannotStart(run.stderr) ?? 'it was ended by a signal');
    if (run.exitCode !== 0) {
      const why = firstLine(run.stderr) || firstLine(run.stdout);
      throw new Error(`it exited ${run.exitCode}${why ? `: ${why}` : ''}`);
    }
    if (run.stdout.length >= OUTPUT_LIMIT) throw new Error(`it printed more than ${OUTPUT_LIMIT / 1024} KiB; a power status is one line`);
    if (command !== 'power-status') return {};
    let parsed: unknown;
    try {
      parsed = JSON.parse(run.stdout);
    } catch {
      parsed = undefined;
    }
    const status = PowerStatus.safeParse(parsed);
    if (!status.success) throw new Error(`it printed ${JSON.stringify(firstLine(run.stdout))}, not {"powered": true} or {"powered": false}`);
    return { powered: status.data.powered };
  },
});
