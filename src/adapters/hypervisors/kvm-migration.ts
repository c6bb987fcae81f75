import { readFile, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { NEVER_RAN_STATES, type HypervisorInstance, type LiveMigration, type MigrationProgress, type MigrationStats } from '../../domain/ports/hypervisor.js';
import { connectQmp, type Qmp } from './qmp.js';

/** What the kvm adapter lends its live migration: where a guest's files are, which QEMU is it, how to start one. */
export interface KvmGuests {
  paths(node: string, name: string): { qmp: string; incoming: string };
  guestPid(node: string, name: string, uuid?: string): Promise<number | undefined>;
  /** Starts the guest's QEMU with these arguments added (here: waiting for an incoming migration). */
  startWith(node: string, instance: HypervisorInstance, extraArgs: string[]): Promise<void>;
  serially<T>(node: string, name: string, work: () => Promise<T>): Promise<T>;
  /** Ends the guest's QEMU and forgets it (not serialized: called from within a serialized call). */
  end(node: string, instance: HypervisorInstance): Promise<void>;
}

/** The longest a migration is followed before it is cancelled: within the engine's 180 s call. */
const SEND_LIMIT_MS = 170_000;
const POLL_MS = 100;
/**
 * How often a migration under way, and a destination about to run, are looked at: each
 * look is one cheap QMP query, and the guest moves on no sooner than the look that sees it
 * done, so this is time added to every migration (half of it on average).
 */
const FOLLOW_MS = 20;

// What QEMU answers, checked before it is believed (QEMU's own field names).
const Status = z.object({ status: z.string().max(64) });
const Ram = z.object({ transferred: z.number(), remaining: z.number(), total: z.number() }).partial();
const MigrateInfo = z.object({
  status: z.string().optional(),
  'total-time': z.number().optional(),
  downtime: z.number().optional(),
  'expected-downtime': z.number().optional(),
  ram: Ram.optional(),
  'error-desc': z.string().optional(),
  'socket-address': z.array(z.object({ type: z.string(), host: z.string().optional(), port: z.string().optional() })).optional(),
});
type MigrateInfo = z.infer<typeof MigrateInfo>;

const queryMigrate = async (qmp: Qmp): Promise<MigrateInfo> => MigrateInfo.parse(await qmp.execute('query-migrate'));
/** QEMU's run state (running, inmigrate, postmigrate, paused…), checked. */
export const runState = async (qmp: Qmp, timeoutMs?: number): Promise<string> => {
  const parsed = Status.safeParse(await qmp.execute('query-status', undefined, timeoutMs));
  if (!parsed.success) throw new Error('QEMU answered query-status with something that is not a run state');
  return parsed.data.status;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** An IPv6 address goes in brackets in a QEMU URI. */
const hostPart = (host: string) => (host.includes(':') ? `[${host}]` : host);

const progressOf = (info: MigrateInfo): MigrationProgress => ({
  status: info.status ?? 'none',
  transferredBytes: info.ram?.transferred ?? 0,
  remainingBytes: info.ram?.remaining ?? 0,
  totalBytes: info.ram?.total ?? 0,
  ...(info['expected-downtime'] !== undefined && { expectedDowntimeMs: info['expected-downtime'] }),
});

/**
 * Live migration through QMP, as FACTS.md measured it: the destination's QEMU starts with
 * `-incoming defer` and listens (`migrate-incoming`, port chosen by the kernel, read back
 * from `query-migrate`); the source is told `migrate` and followed with `query-migrate`
 * until it is `completed` and paused in `postmigrate`. Each call first looks at what QEMU
 * already does, so a call asked again (a lost answer, a successor engine) follows or
 * reports the same migration instead of starting a second.
 */
export const kvmLiveMigration = (guests: KvmGuests): LiveMigration & { progress(node: string, name: string): MigrationProgress | undefined } => {
  const lastProgress = new Map<string, MigrationProgress>();
  const withQmp = async <T>(node: string, instance: HypervisorInstance, work: (qmp: Qmp) => Promise<T>): Promise<T> => {
    if (!(await guests.guestPid(node, instance.name, instance.uuid))) throw new Error(`no QEMU of ${instance.name} runs on node ${node}`);
    const qmp = await connectQmp(guests.paths(node, instance.name).qmp);
    try {
      return await work(qmp);
    } finally {
      qmp.close();
    }
  };
  /** After a migration that did not complete, the source runs again (QEMU resumes it itself unless it was already paused). */
  const runAgain = async (qmp: Qmp, state?: string) => {
    if ((state ?? (await runState(qmp))) !== 'running') await qmp.execute('cont');
  };
  return {
    progress: (node, name) => lastProgress.get(`${node}/${name}`),
    accept: (node, instance, address) =>
      guests.serially(node, instance.name, async () => {
        const incoming = guests.paths(node, instance.name).incoming;
        if (await guests.guestPid(node, instance.name, instance.uuid)) {
          // Asked again: the guest waits already (or has arrived); where it listens was written down.
          const uri = (await readFile(incoming, 'utf8').catch(() => '')).trim();
          const state = await withQmp(node, instance, runState);
          if (uri && state === 'inmigrate') return { uri };
          throw new Error(`${instance.name} already runs on node ${node} ('${state}'): it cannot be a migration's destination there`);
        }
        await guests.startWith(node, instance, ['-incoming', 'defer']);
        return withQmp(node, instance, async (qmp) => {
          await qmp.execute('migrate-incoming', { uri: `tcp:${hostPart(address)}:0` });
          const socket = (await queryMigrate(qmp))['socket-address']?.find((a) => a.type === 'inet' && a.port);
          if (!socket?.port) throw new Error(`QEMU on node ${node} did not say which port it listens on for ${instance.name}`);
          const uri = `tcp:${hostPart(address)}:${socket.port}`;
          await writeFile(incoming, `${uri}\n`);
          return { uri };
        });
      }),
    send: (node, instance, uri, progress) =>
      guests.serially(node, instance.name, () =>
        withQmp(node, instance, async (qmp): Promise<MigrationStats> => {
          const key = `${node}/${instance.name}`;
          let info = await queryMigrate(qmp);
          const underWay = info.status === 'setup' || info.status === 'active' || info.status === 'device' || info.status === 'pre-switchover';
          // Completed before and the source still paused: that migration's figures are the answer.
          const doneBefore = info.status === 'completed' && (await runState(qmp)) === 'postmigrate';
          if (!underWay && !doneBefore) {
            await qmp.execute('migrate', { uri });
            info = await queryMigrate(qmp);
          }
          const end = Date.now() + SEND_LIMIT_MS;
          try {
            while (info.status !== 'completed') {
              if (info.status === 'failed' || info.status === 'cancelled') {
                await runAgain(qmp);
                throw new Error(`the migration of ${instance.name} from node ${node} to ${uri} ${info.status}${info['error-desc'] ? `: ${info['error-desc']}` : ''}; it runs on ${node} still`);
              }
              if (Date.now() > end) {
                await qmp.execute('migrate_cancel');
                for (let i = 0; i < 50 && !['cancelled', 'failed', 'completed'].includes(info.status ?? ''); i++) info = await sleep(POLL_MS).then(() => queryMigrate(qmp));
                if (info.status === 'completed') break;
                await runAgain(qmp);
                throw new Error(`the migration of ${instance.name} from node ${node} to ${uri} did not end within ${SEND_LIMIT_MS / 1000} s and was cancelled; it runs on ${node} still`);
              }
              const p = progressOf(info);
              lastProgress.set(key, p);
              progress?.(p);
              await sleep(FOLLOW_MS);
              info = await queryMigrate(qmp);
            }
          } finally {
            lastProgress.delete(key);
          }
          const state = await runState(qmp);
          if (state !== 'postmigrate') throw new Error(`QEMU says the migration of ${instance.name} completed, but the source on node ${node} is '${state}', not 'postmigrate'`);
          return { totalMs: info['total-time'] ?? 0, downtimeMs: info.downtime ?? 0, bytes: info.ram?.transferred ?? 0 };
        }),
      ),
    confirm: (node, instance) =>
      withQmp(node, instance, async (qmp) => {
        // The destination starts running once the last of the stream is in: a moment after the source says 'completed'.
        let state = await runState(qmp);
        for (let i = 0; i < 500 && (state === 'inmigrate' || state === 'finish-migrate'); i++) state = await sleep(FOLLOW_MS).then(() => runState(qmp));
        if (state !== 'running') throw new Error(`${instance.name} does not run on node ${node} after its migration: QEMU says '${state}'`);
      }),
    resume: (node, instance, options) =>
      guests.serially(node, instance.name, () =>
        withQmp(node, instance, async (qmp) => {
          const state = await runState(qmp);
          // Paused after a migration that completed: the guest may run on the destination now, off the same disks.
          if (state === 'postmigrate' && !options?.evenIfCompleted && (await queryMigrate(qmp)).status === 'completed') {
            throw new Error(`the migration of ${instance.name} from node ${node} completed: its source is left paused, not run again beside the guest that may run on its destination`);
          }
          await runAgain(qmp, state);
        }),
      ),
    withdraw: (node, instance) =>
      guests.serially(node, instance.name, async () => {
        if (await guests.guestPid(node, instance.name, instance.uuid)) {
          const state = await withQmp(node, instance, runState);
          if (!NEVER_RAN_STATES.has(state)) throw new Error(`${instance.name} has run on node ${node} ('${state}'): its migration arrived, and the guest is not ended to take the migration back`);
        }
        await guests.end(node, instance);
      }),
  };
};
