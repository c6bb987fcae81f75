import { createInterface } from 'node:readline';
import type { Io } from './session.js';
import { UsageError } from './usage-error.js';

/** The option every command that destroys something takes to skip the question. */
export const FORCE_OPTION = { force: { type: 'boolean', short: 'f' } } as const;

/** Reads one answer from stdin when it is a terminal; a script gets undefined. */
const askOnTerminal = (io: Io, question: string): Promise<string | undefined> => {
  if (!process.stdin.isTTY) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    let answered = false;
    rl.question(question, (answer) => {
      answered = true;
      rl.close();
      resolve(answer);
    });
    rl.once('SIGINT', () => rl.close()); // Ctrl-C on the question: a no, not a hang
    rl.once('close', () => {
      if (!answered) {
        io.err('\n');
        resolve('');
      }
    });
  });
};

/**
 * Ganeti's confirmation before destroying something: `QUESTION [y/N]` on a terminal,
 * skipped with -f/--force. Without a terminal, nobody can answer, so the command is
 * refused (exit status 2) rather than run. Resolves true when the command may go on.
 */
export const confirm = async (command: string, question: string, force: boolean | undefined, io: Io): Promise<boolean> => {
  if (force) return true;
  const prompt = `${question} [y/N] `;
  const answer = await (io.ask ? io.ask(prompt) : askOnTerminal(io, prompt));
  if (answer === undefined) throw new UsageError(`${command}: not confirmed and there is no terminal to ask on; add -f (--force) to go ahead`);
  if (/^(y|yes)$/i.test(answer.trim())) return true;
  io.err(`opl: ${command}: not confirmed; nothing done\n`);
  return false;
};
