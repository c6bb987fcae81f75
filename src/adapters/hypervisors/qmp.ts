import { createConnection, type Socket } from 'node:net';
import { Subject, type Observable } from 'rxjs';
import { z } from 'zod';

/** A QMP command QEMU refused, with QEMU's own class and words. */
export class QmpError extends Error {
  constructor(
    readonly command: string,
    readonly errorClass: string,
    description: string,
  ) {
    super(`QEMU refused ${command}: ${description} (${errorClass})`);
  }
}

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

export interface Qmp {
  /** Runs one command and resolves with its `return`; rejects with QmpError, or after timeoutMs. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  /** QEMU's asynchronous events (SHUTDOWN, STOP, RESUME, MIGRATION…), for as long as the socket is open. */
  readonly events: Observable<QmpEvent>;
  /** Resolves once QEMU closed the socket (it exited, or closed the monitor). */
  readonly closed: Promise<void>;
  close(): void;
}

const Greeting = z.object({ QMP: z.object({ version: z.object({ qemu: z.object({ major: z.number(), minor: z.number(), micro: z.number() }) }) }) });
const Message = z.union([
  z.object({ return: z.unknown(), id: z.number().optional() }),
  z.object({ error: z.object({ class: z.string(), desc: z.string() }), id: z.number().optional() }),
  z.object({ event: z.string(), data: z.record(z.string(), z.unknown()).optional(), timestamp: z.object({ seconds: z.number(), microseconds: z.number() }).optional() }),
]);
/** A line QEMU would never send: a bound on what we buffer from a socket we do not trust blindly. */
const LONGEST_LINE = 4 * 1024 * 1024;

/**
 * A client of QEMU's machine protocol on a unix socket: waits for the greeting, leaves
 * capability negotiation (`qmp_capabilities`), then sends commands tagged with ids and
 * matches the answers by id, so events in between never get mistaken for an answer.
 * Every wait is bounded.
 */
export const connectQmp = (path: string, timeoutMs = 5_000): Promise<Qmp & { version: string }> =>
  new Promise((resolve, reject) => {
    const socket: Socket = createConnection(path);
    const events = new Subject<QmpEvent>();
    const waiting = new Map<number, { command: string; done: (value: unknown) => void; fail: (error: Error) => void; timer: NodeJS.Timeout }>();
    let greeted: ((version: string) => void) | undefined;
    let buffer = '';
    let nextId = 1;
    const fail = (error: Error) => {
      for (const [id, w] of waiting) {
        clearTimeout(w.timer);
        waiting.delete(id);
        w.fail(error);
      }
    };
    const closed = new Promise<void>((done) =>
      socket.once('close', () => {
        events.complete();
        fail(new Error(`QEMU closed its QMP socket ${path}`));
        done();
      }),
    );
    const greetTimer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`QEMU did not greet on its QMP socket ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('error', (error) => {
      clearTimeout(greetTimer);
      reject(new Error(`cannot reach QEMU's QMP socket ${path}: ${error.message}`));
    });
    const onLine = (line: string) => {
      let json: unknown;
      try {
        json = JSON.parse(line);
      } catch {
        return socket.destroy(new Error(`QEMU sent something that is not JSON on ${path}`));
      }
      if (greeted) {
        const greeting = Greeting.safeParse(json);
        if (!greeting.success) return socket.destroy(new Error(`QEMU's QMP greeting on ${path} is not one`));
        const { major, minor, micro } = greeting.data.QMP.version.qemu;
        const done = greeted;
        greeted = undefined;
        return done(`${major}.${minor}.${micro}`);
      }
      const message = Message.safeParse(json);
      if (!message.success) return;
      const m = message.data;
      if ('event' in m) return events.next(m);
      const w = m.id !== undefined ? waiting.get(m.id) : undefined;
      if (!w) return;
      clearTimeout(w.timer);
      waiting.delete(m.id!);
      if ('error' in m) w.fail(new QmpError(w.command, m.error.class, m.error.desc));
      else w.done(m.return);
    };
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      if (buffer.length > LONGEST_LINE) return socket.destroy(new Error(`QEMU sent a line longer than ${LONGEST_LINE} bytes on ${path}`));
      let end: number;
      while ((end = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, end).trim();
        buffer = buffer.slice(end + 1);
        if (line) onLine(line);
      }
    });
    const execute = <T>(command: string, args?: Record<string, unknown>, ms = timeoutMs): Promise<T> =>
      new Promise<T>((done, failed) => {
        if (socket.destroyed) return failed(new Error(`QEMU's QMP socket ${path} is closed`));
        const id = nextId++;
        const timer = setTimeout(() => {
          waiting.delete(id);
          failed(new Error(`QEMU did not answer ${command} within ${ms} ms`));
        }, ms);
        waiting.set(id, { command, done: done as (value: unknown) => void, fail: failed, timer });
        socket.write(`${JSON.stringify({ execute: command, ...(args && { arguments: args }), id })}\n`);
      });
    greeted = (version) => {
      execute('qmp_capabilities').then(
        () => {
          clearTimeout(greetTimer);
          resolve({ version, execute, events: events.asObservable(), closed, close: () => socket.end() });
        },
        (error: Error) => {
          clearTimeout(greetTimer);
          socket.destroy();
          reject(error);
        },
      );
    };
  });
