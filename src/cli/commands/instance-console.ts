import { findInstance } from '../../domain/cluster-state.js';
import type { Command } from '../command.js';
import { json } from '../render.js';
import type { Session } from '../session.js';
import { escapeControl, quote } from '../text.js';
import { viewCommand } from '../view-command.js';

/** What `instance console` shows unless --all: the end of the console, as `tail` would. */
const TAIL_BYTES = 64 * 1024;
/** The most `--output json` carries (its end), --all or not: a document is built whole in memory. */
const JSON_BYTES = 8 * 1024 * 1024;
const FOLLOW_EVERY_MS = 500;
/** A bound on one read's pieces (of 64 KiB): a read ends at the console's end, or where it was asked to, long before. */
const MAX_PIECES = 100_000;
/** A follower gives up once its node (or the store) has failed it this many times in a row. */
const FOLLOW_FAILURES = 10;

/** A guest's console is its own text: shown with its control characters spelled out (lines and tabs kept), unless --raw. */
const shown = (text: string, raw: boolean) => (raw ? text : text.replace(/\r/g, '').split('\n').map((line) => line.split('\t').map(escapeControl).join('\t')).join('\n'));

/** Where the instance's guest is now; or why it has no console to show. */
const whereIs = async (s: Session, name: string): Promise<{ node: string } | { refused: string }> => {
  const state = (await s.views()).cluster;
  const instance = findInstance(state, name);
  if (!instance) return { refused: `instance ${quote(name)} does not exist` };
  if ((instance.hypervisor ?? 'fake') !== 'kvm') return { refused: `instance ${quote(name)} runs on the fake hypervisor, which has no console (kvm guests have one)` };
  const node = state.nodes.get(instance.primaryNodeUuid);
  if (!node) return { refused: `instance ${quote(name)} has no primary node` };
  if (node.offline) return { refused: `node ${node.name}, where ${quote(name)} runs, is marked offline: it is not asked` };
  return { node: node.name };
};

/**
 * A console read piece by piece: `next` moves with every piece printed, so a read that
 * fails half-way goes on from there next time, never printing a piece twice. A read
 * stops at `until` (the size seen when it began), so a guest writing fast cannot keep it going.
 */
const consoleReader = (s: Session, name: string, print: (text: string) => void) => {
  let decoder = new TextDecoder('utf-8');
  const reader = {
    node: '',
    next: 0,
    async read(until?: number): Promise<number> {
      for (let pieces = 0; pieces < MAX_PIECES; pieces++) {
        const piece = await s.guests.console(reader.node, name, reader.next);
        if (piece.next - piece.data.length < reader.next) decoder = new TextDecoder('utf-8'); // made again: read from its start
        print(decoder.decode(piece.data, { stream: true }));
        reader.next = piece.next;
        if (piece.next >= piece.size || piece.data.length === 0 || (until !== undefined && piece.next >= until)) return piece.size;
      }
      return reader.next;
    },
    moveTo(node: string) {
      reader.node = node;
      reader.next = 0;
      decoder = new TextDecoder('utf-8');
    },
  };
  return reader;
};

export const instanceConsole: Command = viewCommand({
  path: ['instance', 'console'],
  args: ['name'],
  usage: '[--follow] [--all] [--raw] [--output json]',
  summary: "show a kvm instance's serial console, read on its node (the last 64 KiB; --all from its start); --follow keeps printing what the guest writes, across moves, until interrupted",
  options: { follow: { type: 'boolean', short: 'f' }, all: { type: 'boolean' }, raw: { type: 'boolean' } },
  view: async (s, { command, args: [name], values }) => {
    if (values.follow && s.format === 'json') {
      s.io.err(`opl: ${command}: --follow prints the console as it comes; it has no --output json\n`);
      return 2;
    }
    const where = await whereIs(s, name);
    if ('refused' in where) {
      s.io.err(`opl: ${command}: ${where.refused}\n`);
      return 1;
    }
    const fail = (error: unknown) => (s.io.err(`opl: ${command}: ${error instanceof Error ? error.message : String(error)}\n`), 1);
    let out = '';
    const reader = consoleReader(s, name, (t) => (s.format === 'json' ? (out += t) : s.io.out(shown(t, values.raw === true))));
    reader.moveTo(where.node);
    try {
      const { size } = await s.guests.console(where.node, name, 0);
      const keep = !values.all ? TAIL_BYTES : s.format === 'json' ? JSON_BYTES : Infinity;
      reader.next = Math.max(0, size - keep);
      const offset = reader.next;
      const total = await reader.read(size);
      if (s.format === 'json') {
        s.io.out(json({ instance: name, node: where.node, offset, size: total, console: out }));
        return 0;
      }
    } catch (error) {
      return fail(error);
    }
    if (!values.follow) return 0;
    // Until interrupted (SIGINT), as `tail -f`: the one loop here without an end of its own.
    let failures = 0;
    for (;;) {
      await new Promise((r) => setTimeout(r, FOLLOW_EVERY_MS));
      try {
        const now = await whereIs(s, name);
        if ('refused' in now) return fail(new Error(now.refused));
        if (now.node !== reader.node) {
          // Moved: what the old console got last is read first (if its node still answers), then the new one from its start.
          await reader.read().catch(() => undefined);
          s.io.err(`opl: ${command}: ${name} is on node ${now.node} now; following its console there\n`);
          reader.moveTo(now.node);
        }
        await reader.read();
        failures = 0;
      } catch (error) {
        if (++failures >= FOLLOW_FAILURES) return fail(error);
      }
    }
  },
});
