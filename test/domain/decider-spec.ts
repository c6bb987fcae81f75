import * as E from 'fp-ts/lib/Either.js';
import { expect } from 'vitest';
import type { z } from 'zod';
import { evolveCluster } from '../../src/domain/cluster-evolve.js';
import { emptyClusterState, type ClusterState } from '../../src/domain/cluster-state.js';
import { decideCluster, type DecideContext, type Decision } from '../../src/domain/decide/index.js';
import type { ClusterEvent } from '../../src/domain/events.js';
import type { RefusalCode } from '../../src/domain/failures.js';
import { Opcode } from '../../src/domain/opcodes.js';

/** An opcode as an operator submits it: the schema fills in the defaults. */
export type OpcodeInput = z.input<typeof Opcode>;

/** u1, u2, …: every uuid a decision draws is known in advance. */
export const deterministicUuids = (): (() => string) => {
  let n = 0;
  return () => `u${++n}`;
};

/** The state the events leave behind, folded from the empty cluster as the projector does. */
export const stateOf = (events: readonly ClusterEvent[]): ClusterState =>
  events.reduce((state, event, i) => evolveCluster(state, structuredClone(event), BigInt(i)), emptyClusterState());

const describeDecision = (d: Decision): string =>
  E.isLeft(d) ? `refused (${d.left.code}): ${d.left.message}` : `events ${JSON.stringify(d.right)}`;

/**
 * Emmett's DeciderSpecification: given what the log holds, when an opcode is decided,
 * then these events are recorded (whole payloads) or it is refused with this code.
 */
export const given = (...history: ClusterEvent[]) => ({
  when: (opcode: OpcodeInput, ctx: Partial<Omit<DecideContext, 'newUuid'>> = {}) => {
    const decide = (): Decision => decideCluster(stateOf(history), Opcode.parse(opcode), { newUuid: deterministicUuids(), ...ctx });
    return {
      then: (...expected: ClusterEvent[]): void => {
        const decision = decide();
        if (E.isLeft(decision)) expect.fail(`expected ${expected.length} event(s), but it was ${describeDecision(decision)}`);
        expect(decision.right).toEqual(expected);
      },
      thenRefused: (code: RefusalCode, message?: string | RegExp): void => {
        const decision = decide();
        if (E.isRight(decision)) expect.fail(`expected a refusal with '${code}', but it was ${describeDecision(decision)}`);
        expect(decision.left.code, decision.left.message).toBe(code);
        if (typeof message === 'string') expect(decision.left.message).toContain(message);
        if (message instanceof RegExp) expect(decision.left.message).toMatch(message);
      },
    };
  },
});
