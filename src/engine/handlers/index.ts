import { logicalUnits } from '../../domain/decide/index.js';
import { OPCODE_TYPES, type Opcode, type OpcodeType } from '../../domain/opcodes.js';
import type { Hypervisor } from '../../domain/ports/hypervisor.js';
import { clusterPreparations } from './config.js';
import { debugHandlers } from './debug.js';
import type { Extras, Handler, Handlers } from './handler.js';
import { instancePreparations } from './instance.js';
import { nodePreparations } from './nodes.js';
import { oobHandlers } from './oob.js';

/**
 * Ganeti's command table, engine side: one handler per opcode, each its domain
 * logical unit (locks, decision) with what the engine adds (preparation that asks
 * allocators and nodes, or a run of its own). Both tables are keyed by every opcode
 * type or checked against them, so an opcode without a handler fails to compile.
 */
export const createHandlers = (hypervisor: () => Hypervisor): Handlers => {
  const extras: Extras = { ...clusterPreparations, ...nodePreparations, ...instancePreparations(hypervisor), ...debugHandlers, ...oobHandlers };
  const handler = <T extends OpcodeType>(type: T): Handler<T> => ({ ...logicalUnits[type], ...extras[type] });
  // Object.fromEntries forgets which value goes with which key; `handler` paired them.
  return Object.fromEntries(OPCODE_TYPES.map((type) => [type, handler(type)])) as Handlers;
};

/** The handler of an opcode, typed for it. */
export const handlerOf = <T extends OpcodeType>(handlers: Handlers, opcode: Opcode & { type: T }): Handler<T> => handlers[opcode.type] as Handler<T>;
