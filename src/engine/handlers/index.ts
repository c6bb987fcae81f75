import type { Hypervisor } from '../../domain/ports/hypervisor.js';
import type { Opcode, OpcodeType } from '../../domain/opcodes.js';
import { configHandlers } from './config.js';
import { debugHandlers } from './debug.js';
import type { Handler, Handlers } from './handler.js';
import { instanceHandlers } from './instance.js';

/**
 * Ganeti's command table, engine side: one handler per opcode. The type is a mapped
 * type over every opcode, so an opcode without a handler fails to compile.
 */
export const createHandlers = (hypervisor: () => Hypervisor): Handlers => ({
  ...configHandlers,
  ...instanceHandlers(hypervisor),
  ...debugHandlers,
});

/** The handler of an opcode, typed for it. */
export const handlerOf = <T extends OpcodeType>(handlers: Handlers, opcode: Opcode & { type: T }): Handler<T> => handlers[opcode.type] as Handler<T>;
