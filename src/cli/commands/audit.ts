import type { RecordedEvent } from '../../domain/ports/event-store.js';
import { allViews } from '../../projections/read-models.js';
import { replayUntil } from '../../projections/projector.js';
import { JOB_QUEUE_STREAM } from '../../projections/views.js';
import { parseNumber, positional } from '../args.js';
import type { Command } from '../command.js';
import { json, table } from '../render.js';
import { UsageError } from '../usage-error.js';
import { withSession } from './with-session.js';

const jobIdOf = (e: RecordedEvent): number | undefined =>
  e.stream === JOB_QUEUE_STREAM ? Number(e.revision) + 1 : e.metadata.jobId;

const mentions = (data: unknown, name: string): boolean =>
  typeof data === 'object' && data !== null && JSON.stringify(data).includes(`"${name}"`);

export const auditCommands: Command[] = [
  {
    path: ['audit', 'replay'],
    usage: 'opl audit replay [--until-position N | --until-time ISO] [--output json]',
    summary: 'rebuild every view from the log, as it was at a position or instant',
    options: { 'until-position': { type: 'string' }, 'until-time': { type: 'string' } },
    run: (parsed, io) => {
      const c = 'audit replay';
      positional(c, parsed, []);
      const position = parseNumber(c, '--until-position', parsed.values['until-position'] as string | undefined);
      if (position !== undefined && (!Number.isInteger(position) || position < 0)) {
        throw new UsageError(`${c}: --until-position '${position}': expected a whole number, 0 or more`);
      }
      const timeText = parsed.values['until-time'] as string | undefined;
      const time = timeText === undefined ? undefined : new Date(timeText);
      if (time && Number.isNaN(time.getTime())) throw new UsageError(`${c}: --until-time '${timeText}': expected an ISO 8601 time such as 2026-11-24T18:00:00Z`);
      return withSession(c, parsed, io, async (s) => {
        const views = await replayUntil(s.plane.store, {
          ...(position !== undefined && { untilPosition: BigInt(position) }),
          ...(time && { untilTime: time }),
        });
        const all = allViews(views);
        if (s.format === 'json') {
          io.out(json(all));
          return 0;
        }
        io.out(`Replayed up to position ${all.position}${views.lastRecordedAt ? ` (${views.lastRecordedAt})` : ''}\n`);
        io.out(all.cluster ? `Cluster ${all.cluster.name}, serial ${all.cluster.serialNo}\n\n` : 'No cluster yet\n\n');
        io.out(table(['Node', 'Group', 'MTotal', 'MFree', 'Pinst'], all.nodes.map((n) => [n.name, n.group, n.memoryTotal, n.memoryFree, n.primaryInstances.length])));
        io.out('\n');
        io.out(table(['Instance', 'Primary_node', 'Status', 'Memory', 'VCPUs'], all.instances.map((i) => [i.name, i.primaryNode, i.adminState, i.memory, i.vcpus])));
        io.out(`\n${all.jobs.length} jobs: ${['success', 'error', 'canceled', 'queued', 'running', 'waiting'].map((st) => `${all.jobs.filter((j) => j.status === st).length} ${st}`).join(', ')}\n`);
        return 0;
      });
    },
  },
  {
    path: ['audit', 'log'],
    usage: 'opl audit log [--instance NAME] [--job ID] [--output json]',
    summary: 'print the events: who, when, which job, what',
    options: { instance: { type: 'string' }, job: { type: 'string' } },
    run: (parsed, io) => {
      const c = 'audit log';
      positional(c, parsed, []);
      const job = parseNumber(c, '--job', parsed.values.job as string | undefined);
      const instance = parsed.values.instance as string | undefined;
      return withSession(c, parsed, io, async (s) => {
        const events: RecordedEvent[] = [];
        const uuids = new Set<string>();
        const jobsTouching = new Set<number>();
        for await (const e of s.plane.store.readAll()) {
          if (job !== undefined && jobIdOf(e) !== job) continue;
          if (instance !== undefined) {
            const data = e.data as { instanceName?: string; instanceUuid?: string };
            if (data.instanceName === instance && data.instanceUuid) uuids.add(data.instanceUuid);
            const touches = (data.instanceUuid !== undefined && uuids.has(data.instanceUuid)) || mentions(e.data, instance);
            const id = jobIdOf(e);
            if (touches && id !== undefined) jobsTouching.add(id);
            if (!touches && !(id !== undefined && jobsTouching.has(id))) continue;
          }
          events.push(e);
        }
        if (s.format === 'json') {
          io.out(json(events.map((e) => ({ ...e, revision: Number(e.revision), position: Number(e.position) }))));
          return 0;
        }
        io.out(
          table(
            ['Pos', 'Recorded', 'Actor', 'Job', 'Stream', 'Event', 'Details'],
            events.map((e) => [Number(e.position), e.metadata.recordedAt, e.metadata.actor, jobIdOf(e), e.stream, e.type, brief(e.data)]),
          ),
        );
        return 0;
      });
    },
  },
];

const brief = (data: unknown): string => {
  const text = JSON.stringify(data);
  return text.length > 100 ? `${text.slice(0, 97)}...` : text;
};
