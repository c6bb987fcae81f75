import { FINISHED_JOB_STATUSES } from '../../projections/job-view.js';
import { jobInfo, jobInfos, type JobInfo } from '../../projections/read-models.js';
import type { Command, Ctx } from '../command.js';
import { listCommand } from '../list-command.js';
import { json, keyValues } from '../render.js';
import { reportJob, type Session } from '../session.js';
import { escapeControl, quote } from '../text.js';
import { viewCommand } from '../view-command.js';

const jobIdArg = (ctx: Ctx<{}, readonly ['id']>): number => {
  const [text] = ctx.args;
  const id = Number(text);
  if (!Number.isInteger(id) || id <= 0) ctx.fail(`${quote(text)} is not a job id (a positive whole number)`);
  return id;
};

const existingJob = async (s: Session, command: string, id: number) => {
  const job = (await s.views()).jobs.get(id);
  if (!job) s.io.err(`opl: ${command}: job ${id} does not exist\n`);
  return job;
};

const summary = (j: JobInfo) => j.opcodes.map((o) => o.type.replace(/^OP_/, '')).join(',');

export const jobCommands: Command[] = [
  listCommand<JobInfo, { status: { type: 'string' } }>({
    path: ['job', 'list'],
    usage: '[--status STATUS]',
    summary: 'list jobs',
    options: { status: { type: 'string' } },
    fields: {
      id: { title: 'ID', get: (j) => j.id },
      status: { title: 'Status', get: (j) => j.status },
      summary: { title: 'Summary', get: summary },
      actor: { title: 'Actor', get: (j) => j.actor },
      priority: { title: 'Priority', get: (j) => j.priority },
      depends: { title: 'Depends', get: (j) => j.dependsOn.join(',') || '-' },
      received_ts: { title: 'Submitted', get: (j) => j.submittedAt },
      start_ts: { title: 'Started', get: (j) => j.startedAt },
      end_ts: { title: 'Ended', get: (j) => j.endedAt },
    },
    defaults: ['id', 'status', 'summary', 'actor', 'received_ts'],
    rows: async (s, { values }) => jobInfos(await s.views()).filter((j) => values.status === undefined || j.status === values.status),
  }),
  viewCommand({
    path: ['job', 'info'],
    args: ['id'],
    usage: '[--output json]',
    summary: 'show a job with its opcodes, results and log',
    prepare: jobIdArg,
    view: async (s, { command, prepared: id }) => {
      const job = await existingJob(s, command, id);
      if (!job) return 1;
      const info = jobInfo(job);
      if (s.format === 'json') {
        s.io.out(json(info));
        return 0;
      }
      s.io.out(keyValues([['Job ID', info.id], ['Status', info.status], ['Priority', info.priority], ['Depends on', info.dependsOn], ['Submitted by', info.actor], ['Submitted', info.submittedAt], ['Started', info.startedAt], ['Ended', info.endedAt]]));
      info.opcodes.forEach((op, i) => {
        s.io.out(`  Opcode ${i}: ${op.type} — ${op.status}${op.attempts > 1 ? ` (attempt ${op.attempts})` : ''}\n`);
        if (op.error) s.io.out(`    Error: ${escapeControl((op.error as { message: string }).message)}\n`);
        if (op.result !== null) s.io.out(`    Result: ${JSON.stringify(op.result)}\n`);
        for (const line of op.log) s.io.out(`    ${line.time} ${line.level}: ${escapeControl(line.message)}\n`);
      });
      return 0;
    },
  }),
  viewCommand({
    path: ['job', 'watch'],
    args: ['id'],
    summary: 'follow a job live until it ends (running the queue if no engine leads)',
    prepare: jobIdArg,
    view: async (s, { command, prepared: id }) => {
      const job = await existingJob(s, command, id);
      if (!job) return 1;
      const say = (line: string) => s.format === 'table' && s.io.out(`${new Date().toISOString()} job ${id}: ${escapeControl(line)}\n`);
      say(`${job.status}`);
      const finished = await s.plane.awaitJob(id, (event) => {
        const d = event.data as { opIndex?: number; message?: string; level?: string; status?: string; failure?: { message: string } };
        const op = d.opIndex !== undefined ? `opcode ${d.opIndex} (${job.opcodes[d.opIndex]?.type ?? '?'})` : '';
        if (event.type === 'OpcodeLog') say(`${op} ${d.level}: ${d.message}`);
        else if (event.type === 'OpcodeStarted') say(`${op} running`);
        else if (event.type === 'OpcodeWaiting') say(`${op} waiting for locks`);
        else if (event.type === 'OpcodeSucceeded') say(`${op} success`);
        else if (event.type === 'OpcodeFailed') say(`${op} failed: ${d.failure?.message}`);
        else if (event.type === 'JobCancelRequested') say('cancel requested');
      });
      say(`finished: ${finished.status}`);
      if (s.format === 'json') s.io.out(json(jobInfo(finished)));
      return finished.status === 'success' ? 0 : 1;
    },
  }),
  viewCommand({
    path: ['job', 'cancel'],
    args: ['id'],
    summary: 'cancel a job that has not finished',
    prepare: jobIdArg,
    view: async (s, { command, values, prepared: id }) => {
      const job = await existingJob(s, command, id);
      if (!job) return 1;
      if (FINISHED_JOB_STATUSES.has(job.status)) {
        s.io.err(`opl: ${command}: job ${id} has already finished (${job.status})\n`);
        return 1;
      }
      await s.plane.cancel(id);
      if (values.submit) return 0;
      const finished = await s.plane.awaitJob(id);
      if (finished.status === 'canceled') {
        s.io.out(s.format === 'json' ? json(jobInfo(finished)) : `job ${id} canceled\n`);
        return 0;
      }
      if (reportJob(s, finished) === 0) s.io.err(`opl: ${command}: job ${id} finished before it could be canceled\n`);
      return 1;
    },
  }),
];
