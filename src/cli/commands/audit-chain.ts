import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { readPublicKeyFile, signCheckpoint, fingerprintOf } from '../../adapters/audit/keys.js';
import { ensureRecordedAuditKey, recordedAuditKeys } from '../../adapters/audit/record-key.js';
import { verifyLog, type VerifyReport } from '../../adapters/audit/verify.js';
import { parseStoreLocation, upgradeEventLog } from '../../adapters/stores/open.js';
import { AUDIT_STREAM } from '../../domain/audit-events.js';
import { defineCommand, type Command } from '../command.js';
import { json } from '../render.js';
import { defaultDataDir, outputFormat, type Io } from '../session.js';
import { viewCommand } from '../view-command.js';

/** A progress line on stderr, rewritten in place, only when a person is watching. */
const progress = (io: Io): ((checked: number) => void) | undefined => {
  if (!process.stderr.isTTY || io.env.OPL_NO_PROGRESS) return undefined;
  let last = 0;
  return (checked) => {
    const now = Date.now();
    if (now - last < 200) return;
    last = now;
    process.stderr.write(`\r  verified ${checked.toLocaleString('en')} events…`);
  };
};

const short = (hash: string) => `${hash.slice(0, 16)}…`;

const reportJson = (r: VerifyReport) => ({
  ok: r.ok,
  events: r.events,
  head: r.head,
  fault: r.fault ?? null,
  checkpoints: r.checkpoints,
  keySource: r.keySource,
  unsigned: r.unsigned,
});

export const auditChainCommands: Command[] = [
  viewCommand({
    path: ['audit', 'verify'],
    args: [],
    usage: '[--public-key FILE] [--output json]',
    summary: 'walk the whole log and name the first changed, dropped, inserted or reordered event',
    details: `Checks every event's hash and its link to the one before, then every signed checkpoint.
With --public-key FILE, checkpoints are checked with that key only (the log's own
record of its key is not trusted) and at least one checkpoint must be there.
Exit status 0 when the log is intact, 1 at the first difference.`,
    options: { 'public-key': { type: 'string' } },
    prepare: (ctx) => {
      const file = ctx.values['public-key'];
      if (file === undefined) return undefined;
      try {
        return { file, key: readPublicKeyFile(file) };
      } catch (error) {
        return ctx.fail((error as Error).message);
      }
    },
    view: async (s, { command, prepared }) => {
      const onProgress = progress(s.io);
      const report = await verifyLog(s.plane.store.audit, { ...(prepared && { publicKey: prepared.key }), ...(onProgress && { onProgress }) });
      if (onProgress) process.stderr.write('\r\x1b[K');
      if (s.format === 'json') {
        s.io.out(json(reportJson(report)));
        return report.ok ? 0 : 1;
      }
      if (report.fault) {
        s.io.err(`opl: ${command}: ${report.fault.message} [${report.fault.kind}]\n`);
        return 1;
      }
      s.io.out(`Log intact: ${report.events} events, head at position ${report.head.position} (hash ${short(report.head.hash)})\n`);
      const last = report.checkpoints[report.checkpoints.length - 1];
      const keyWhat = prepared ? `the public key in ${prepared.file} (${fingerprintOf(prepared.key)})` : "the key the log records (pass --public-key FILE not to trust it)";
      s.io.out(
        last
          ? `${report.checkpoints.length} signed checkpoint(s) hold, checked with ${keyWhat}; the last signs position ${last.position} at ${last.time}\n`
          : 'No signed checkpoint yet (opl audit checkpoint)\n',
      );
      if (last && report.unsigned > 0) s.io.out(`${report.unsigned} event(s) after the last checkpoint are not yet signed\n`);
      return 0;
    },
  }),
  viewCommand({
    path: ['audit', 'checkpoint'],
    args: [],
    usage: '[--output json]',
    summary: "verify the log, then sign its head (position, hash, time) with the cluster's Ed25519 key and record it",
    view: async (s, { command }) => {
      const report = await verifyLog(s.plane.store.audit);
      if (report.fault) {
        s.io.err(`opl: ${command}: refusing to sign a log that does not verify: ${report.fault.message}; run 'opl audit verify'\n`);
        return 1;
      }
      const { key, recorded } = await ensureRecordedAuditKey(s.plane.store, s.dataDir, s.plane.actor);
      const head = report.head;
      const time = new Date().toISOString();
      const signature = signCheckpoint(key, { ...head, time });
      const data = { position: head.position, hash: head.hash, time, fingerprint: key.fingerprint, signature };
      const result = await s.plane.store.append(
        AUDIT_STREAM,
        [{ id: randomUUID(), type: 'CheckpointSigned', data, metadata: { actor: s.plane.actor, recordedAt: time } }],
        'any',
      );
      if (s.format === 'json') {
        s.io.out(json({ ...data, recordedAt: Number(result.position), keyRecorded: recorded }));
        return 0;
      }
      if (recorded) s.io.out(`Recorded the public key ${key.fingerprint} in the log (the key was made in ${s.dataDir})\n`);
      s.io.out(`Checkpoint: position ${head.position}, hash ${short(head.hash)}, signed at ${time} with ${key.fingerprint}; recorded at position ${result.position}\n`);
      return 0;
    },
  }),
  viewCommand({
    path: ['audit', 'public-key'],
    args: [],
    usage: '[--output json]',
    summary: "print the checkpoint key's public half (PEM) as the log records it, for auditors",
    view: async (s, { command }) => {
      const keys = [...(await recordedAuditKeys(s.plane.store)).entries()];
      const last = keys[keys.length - 1];
      if (!last) {
        s.io.err(`opl: ${command}: the log records no audit key; 'opl cluster init' makes one, or the first 'opl audit checkpoint'\n`);
        return 1;
      }
      const [fingerprint, publicKey] = last;
      s.io.out(s.format === 'json' ? json({ fingerprint, publicKey }) : publicKey);
      return 0;
    },
  }),
  defineCommand(
    {
      path: ['audit', 'upgrade'],
      usage: '[--output json]',
      summary: 'give a log written before the hash chain (format opledger-events-1) its chain, in place, once',
      details: `Hashes the log as it is now, in one transaction (PostgreSQL: under the append lock),
so the chain vouches for what it holds at this moment: take a copy first, and run
'opl audit checkpoint' right after. A log with a missing position is refused, and so
is a second run. Stop the daemon first; nothing else can open the log until then.`,
    },
    async (ctx, io) => {
      const format = outputFormat(ctx.command, ctx.values.output);
      if (ctx.positionals.length > 0) ctx.fail(`expected no arguments, got '${ctx.positionals.join(' ')}'`);
      const dataDir = resolve(ctx.values['data-dir'] ?? defaultDataDir(io.env));
      const result = await upgradeEventLog(parseStoreLocation(ctx.values.store ?? io.env.OPL_STORE, dataDir));
      if (format === 'json') io.out(json(result));
      else io.out(`Upgraded the log from ${result.from} to ${result.to}: ${result.events} events hashed into the chain\n`);
      return 0;
    },
  ),
];
