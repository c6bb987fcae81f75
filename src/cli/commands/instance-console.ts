import { findInstance } from '../../domain/cluster-state.js';
import type { Command } from '../command.js';
import { json } from '../render.js';
import type { Session } from '../session.js';
import { escapeControl, quote } from '../text.js';
import { viewCommand } from '../view-command.js';

/** What `instance console` shows unless --all: the end of the console, as `tail` would. */
const TAIL_BYTES = 64 * 1024;
const FOLLOW_EVERY_MS = 500;
/** A follower gives up once its node has not answered this many times in a row. */
const FOLLOW_FAILURES = 10;

/** A guest's console is its own text: shown with its control characters spelled out (but lines and tabs kept), unless --raw. */
const shown = (text: string, raw: boolean) => (raw ? text : text.replace(/\r/g, '').split('\n').map((line) => line.split('\t').map(escapeControl).join('\t')).join('\n'));

/** Where the instance's guest is now, and its console's name there; or why there is none. */
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
    let where = await whereIs(s, name);
    if ('refused' in where) {
      s.io.err(`opl: ${command}: ${where.refused}\n`);
      return 1;
    }
    const decoder = () => new TextDecoder('utf-8', { fatal: false });
    let text = decoder();
    let failures = 0;
    // Reads what there is from `offset` on, piece by piece (each call is bounded), and prints it.
    const readFrom = async (node: string, offset: number, print: (t: string) => void): Promise<{ next: number; size: number }> => {
      let next = offset;
      for (let pieces = 0; pieces < 1_000_000; pieces++) {
        const piece = await s.guests.console(node, name, next);
        if (piece.next < next) text = decoder(); // started again: its console too
        print(text.decode(piece.data, { stream: true }));
        next = piece.next;
        if (next >= piece.size || piece.data.length === 0) return { next, size: piece.size };
      }
      return { next, size: next };
    };
    try {
      const first = await s.guests.console(where.node, name, 0);
      const start = values.all || first.size <= TAIL_BYTES ? 0 : first.size - TAIL_BYTES;
      if (s.format === 'json') {
        let out = '';
        const { size } = await readFrom(where.node, start, (t) => (out += t));
        s.io.out(json({ instance: name, node: where.node, offset: start, size, console: out }));
        return 0;
      }
      let { next } = await readFrom(where.node, start, (t) => s.io.out(shown(t, values.raw === true)));
      if (!values.follow) return 0;
      for (;;) {
        await new Promise((r) => setTimeout(r, FOLLOW_EVERY_MS));
        const now = await whereIs(s, name);
        if ('refused' in now) {
          s.io.err(`opl: ${command}: ${now.refused}\n`);
          return 1;
        }
        if (now.node !== where.node) {
          // Moved: its guest writes to a console on its new node now, from that console's start.
          s.io.err(`opl: ${command}: ${name} is on node ${now.node} now; following its console there\n`);
          where = now;
          next = 0;
          text = decoder();
        }
        try {
          ({ next } = await readFrom(where.node, next, (t) => s.io.out(shown(t, values.raw === true))));
          failures = 0;
        } catch (error) {
          if (++failures >= FOLLOW_FAILURES) throw error;
        }
      }
    } catch (error) {
      s.io.err(`opl: ${command}: ${error instanceof Error ? error.message : String(error)}\n`);
      return 1;
    }
  },
});

