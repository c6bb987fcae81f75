import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { z } from 'zod';
import type { OobCommand } from '../../domain/opcodes.js';
import type { OobAnswer, OutOfBand } from '../../domain/ports/out-of-band.js';
import { runBounded } from '../process/run-bounded.js';

/** Ganeti's default oob_timeout. */
export const OOB_TIMEOUT_MS = 60_000;
const OUTPUT_LIMIT = 64 * 1024;

/** Ganeti's power-status answer: a JSON object with a boolean `powered`. */
const PowerStatus = z.object({ powered: z.boolean() });

/** Why PROGRAM cannot be run, in our words (runBounded would say it as a shell does). */
const runnable = async (program: string): Promise<void> => {
  const info = await stat(program).catch((e: NodeJS.ErrnoException) => e);
  if (info instanceof Error) throw new Error(info.code === 'ENOENT' ? 'there is no such file' : `it cannot be looked at (${info.code ?? info.message})`);
  if (!info.isFile()) throw new Error(`it is ${info.isDirectory() ? 'a directory' : 'not a regular file'}, not a program`);
  await access(program, constants.X_OK).catch(() => {
    throw new Error('it is not executable');
  });
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
    await runnable(program);
    const run = await runBounded(program, { args: [command, node], timeoutMs, outputLimit: OUTPUT_LIMIT });
    if (run.timedOut) throw new Error(`it gave no answer within ${timeoutMs / 1000} s and was ended`);
    if (run.exitCode !== 0) {
      const why = firstLine(run.stderr) || firstLine(run.stdout);
      throw new Error(`${run.exitCode === null ? (run.stderr.startsWith('spawn ') ? 'it could not be run' : 'it was ended by a signal') : `it exited ${run.exitCode}`}${why ? `: ${why}` : ''}`);
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
