import { quote } from '../text.js';

/** Ganeti's `--node-parameters KEY=VALUE,…` (ndparams): only oob_program is taken here. */
export const NODE_PARAMETERS_OPTION = { 'node-parameters': { type: 'string' } } as const;

/**
 * The oob program `--node-parameters oob_program=PATH` names: a path, '' to clear it,
 * or undefined when the option is not given. Any other parameter is refused by name.
 */
export const oobProgramParameter = (text: string | undefined, fail: (message: string) => never): string | undefined => {
  if (text === undefined) return undefined;
  let program: string | undefined;
  for (const piece of text.split(',')) {
    const eq = piece.indexOf('=');
    if (eq <= 0) return fail(`--node-parameters ${quote(piece)}: expected KEY=VALUE`);
    const key = piece.slice(0, eq);
    if (key !== 'oob_program') return fail(`--node-parameters ${quote(key)}: not a node parameter opledger takes (it takes oob_program)`);
    if (program !== undefined) return fail(`--node-parameters: oob_program is given twice; give it once`);
    program = piece.slice(eq + 1);
  }
  return program;
};
