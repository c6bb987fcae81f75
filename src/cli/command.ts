import type { OptionSpec, Parsed } from './args.js';
import type { Io } from './session.js';

export interface Command {
  /** e.g. ['instance', 'add'] */
  path: string[];
  usage: string;
  summary: string;
  options: OptionSpec;
  run(parsed: Parsed, io: Io): Promise<number>;
}
