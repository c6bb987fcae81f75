import type { RecordedEvent } from '../../domain/ports/event-store.js';
import { allViews } from '../../projections/read-models.js';
import { replayUntil } from '../../projections/projector.js';
import { JOB_QUEUE_STREAM } from '../../projections/views.js';
import type { Command } from '../command.js';
import { formatSize, json, table } from '../render.js';
import { quote } from '../text.js';
import { viewCommand } from '../view-command.js';

const jobIdOf = (e: RecordedEvent): number | undefined =>
  e.stream === JOB_QUEUE_STREAM ? Number(e.revision) + 1 : e.metadata.jobId;

const mentions = (data: unknown, name: string): boolean =>
  typeof data === 'object' && data !== null && JSON.stringify(data).includes(`"${name}"`);

const brief = (data: unknown): string => {
  const text = JSON.stringify(data);
  return text.length > 100 ? `${text.slice(0, 97)}...` : text;
};

const size = (mib: number) => formatSize(mib, 'h');

export const auditCommands: Command[] = [
  viewCommand({
    path: ['audit', 'replay'],
    args: [],
    usage: '[--until-position N | --until-time ISO] [--output json]',
    summary: 'rebuild every view from the log, as it was at a position or instant',
    options: { 'until-position': { type: 'string' }, 'until-time': { type: 'string' } },
    prepare: (ctx) => {
      const position = ctx.number('--until-position', ctx.values['until-position']);
      if (position !== undefined && (!Number.isInteger(position) || position < 0)) {
        ctx.fail(`--until-position ${quote(String(position))}: expected a whole number, 0 or more`);
      }
      const timeText = ctx.values['until-time'];
      if (timeText !== undefined && Number.isNaN(Date.parse(timeText))) ctx.fail(`--until-time ${quote(timeText)}: expected an ISO 8601 time such as 2026-11-24T18:00:00Z`);
      const time = timeText === undefined ? undefined : new Date(timeText);
      return { ...(position !== undefined && { untilPosition: BigInt(position) }), ...(time && { untilTime: time }) };
    },
    view: async (s, { prepared }) => {
      const views = await replayUntil(s.plane.store, prepared);
      const all = allViews(views);
      if (s.format === 'json') {
        s.io.out(json(all));
        return 0;
      }
      s.io.out(`Replayed up to position ${all.position}${views.lastRecordedAt ? ` (${views.lastRecordedAt})` : ''}\n`);
      s.io.out(all.cluster ? `Cluster ${all.cluster.name}, serial ${all.cluster.serialNo}\n\n` : 'No cluster yet\n\n');
      s.io.out(table(['Node', 'Group', 'MTotal', 'MFree', 'Pinst'], all.nodes.map((n) => [n.name, n.group, size(n.memoryTotal), size(n.memoryFree), n.primaryInstances.length])));
      s.io.out('\n');
      s.io.out(table(['Instance', 'Primary_node', 'Status', 'Memory', 'VCPUs'], all.instances.map((i) => [i.name, i.primaryNode, i.adminState, size(i.memory), i.vcpus])));
      s.io.out(`\n${all.jobs.length} jobs: ${['success', 'error', 'canceled', 'queued', 'running', 'waiting'].map((st) => `${all.jobs.filter((j) => j.status === st).length} ${st}`).join(', ')}\n`);
      return 0;
    },
  }),
  viewCommand({
    path: ['audit', 'log'],
    args: [],
    usage: '[--instance NAME] [--job ID] [--output json]',
    summary: 'print the events: who, when, which job, what',
    options: { instance: { type: 'string' }, job: { type: 'string' } },
    prepare: (ctx) => ctx.number('--job', ctx.values.job),
    view: async (s, { values: { instance }, prepared: job }) => {
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
        s.io.out(json(events.map((e) => ({ ...e, revision: Number(e.revision), position: Number(e.position) }))));
        return 0;
      }
      s.io.out(
        table(
          ['Pos', 'Recorded', 'Actor', 'Job', 'Stream', 'Event', 'Details'],
          events.map((e) => [Number(e.position), e.metadata.recordedAt, e.metadata.actor, jobIdOf(e), e.stream, e.type, brief(e.data)]),
        ),
      );
      return 0;
    },
  }),
];
