import type { OobCommand } from '../opcodes.js';

/** What a node's oob program answered: for power-status, whether the node is powered. */
export interface OobAnswer {
  powered?: boolean;
}

/**
 * Ganeti's out-of-band management: a program of the operator's, run on the engine's host
 * as `PROGRAM COMMAND NODE`, that powers nodes off and on through whatever the site has
 * (a BMC, a PDU, a hypervisor's API). Rejects with a message in our words when it fails,
 * times out, or prints what its command does not print.
 */
export interface OutOfBand {
  run(program: string, command: OobCommand, node: string): Promise<OobAnswer>;
}
