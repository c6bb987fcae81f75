import * as E from 'fp-ts/lib/Either.js';
import { DomainError } from '../../domain/errors.js';
import { failures } from '../../domain/failures.js';
import { formatNodeAddress } from '../../domain/node-address.js';
import type { Extras } from './handler.js';

/**
 * `node add --address`: the node is asked what it has before it is recorded (Ganeti's
 * `gnt-node add` reads the node's memory and CPUs the same way), over the cluster's
 * mutual TLS, so a host that is not there, or is not this cluster's, is never added.
 * What it reported goes into the log with it; what a caller wrote there is dropped. A
 * node issued a join token ('opl node token') is certified first, over the join.
 */
export const nodePreparations: Extras = {
  OP_NODE_ADD: {
    prepare: async (op, ctx) => {
      const { reported: _untrusted, ...opcode } = op;
      if (!op.address) return E.right({ opcode });
      const where = `node ${op.nodeName} at ${formatNodeAddress(op.address)}`;
      if (!ctx.nodes) return E.left(failures.nodeError(`${where}: this engine was started without a way to call node daemons`));
      if (ctx.nodes.joinPending(op.nodeName)) {
        // A token was issued for it: the host waits with 'opl-noded --join' to be certified first.
        const joined = await ctx.nodes.join(op.nodeName, op.address);
        if (!joined.ok) return E.left(failures.nodeError(joined.message));
        await ctx.log(`${where} joined the cluster: its own key certified (serial ${joined.certified}) for its name and ${op.address.host}`);
      }
      const asked = Date.now();
      const answer = await ctx.nodes.facts(op.nodeName, op.address);
      const answered = Date.now();
      if (!answer.ok) return E.left(failures.nodeError(answer.message));
      const { facts } = answer;
      if (op.memoryMib !== undefined && op.memoryMib > facts.memoryTotalMib) {
        return E.left(new DomainError('invalid_argument', `${where} reports ${facts.memoryTotalMib} MiB of memory; --memory ${op.memoryMib} MiB is more than it has`).toFailure());
      }
      if (op.cpus !== undefined && op.cpus > facts.cpus) {
        return E.left(new DomainError('invalid_argument', `${where} reports ${facts.cpus} CPUs; --cpus ${op.cpus} is more than it has`).toFailure());
      }
      // Its clock against the middle of our round trip: good to half the round trip.
      const clockSkewMs = Math.round(facts.time - (asked + answered) / 2);
      await ctx.log(`${where} reports ${facts.memoryTotalMib} MiB of memory (${facts.memoryFreeMib} MiB available), ${facts.cpus} CPUs, clock ${clockSkewMs} ms off ours`);
      return E.right({
        opcode: {
          ...opcode,
          memoryMib: op.memoryMib ?? facts.memoryTotalMib,
          cpus: op.cpus ?? facts.cpus,
          reported: { at: new Date(answered).toISOString(), hostname: facts.hostname, memoryTotalMib: facts.memoryTotalMib, memoryFreeMib: facts.memoryFreeMib, cpus: facts.cpus, clockSkewMs },
        },
      });
    },
  },
};
