import { FINISHED_JOB_STATUSES } from '../../projections/job-view.js';
import { jobInfo, jobInfos } from '../../projections/read-models.js';
import { positional } from '../args.js';
import type { Command } from '../command.js';
import { json, keyValues, table } from '../render.js';
import { reportJob, type Session } from '../session.js';
import { UsageError } from '../usage-error.js';
import { withSession } from './with-session.js';

const jobIdArg = (command: string, text: string): number => {
  const id = Number(text);
  if (!Number.isInteger(id) || id <= 0) throw new UsageError(`${command}: '${text}' is not a job id (a positive whole number)`);
  return id;
};

const existingJob = async (s: Session, command: string, id: number) => {
  const job = (await s.views()).jobs.get(id);
  if (!job) s.io.err(`opl: ${command}: job ${id} does not exist\n`);
  return job;
};

export const jobCommands: Command[] = [
  {
    path: ['job', 'list'],
    usage: 'opl job list [--status STATUS] [--output json]',
    summary: 'list jobs',
    options: { status: { type: 'string' } },
    run: (parsed, io) => {
      positional('job list', parsed, []);
      return withSession('job list', parsed, io, async (s) => {
        const wanted = parsed.values.status as string | undefined;
        const jobs = jobInfos(await s.views()).filter((j) => wanted === undefined || j.status === wanted);
        io.out(
          s.format === 'json'
            ? json(jobs)
            : table(['ID', 'Status', 'Summary', 'Actor', 'Submitted'], jobs.map((j) => [j.id, j.status, j.opcodes.map((o) => o.type.replace(/^OP_/, '')).join(','), j.actor, j.submittedAt])),
        );
        return 0;
      });
    },
  },
  {
    path: ['job', 'info'],
    usage: 'opl job info ID [--output json]',
    summary: 'show a job with its opcodes, results and log',
    options: {},
    run: (parsed, io) => {
      const [text] = positional('job info', parsed, ['id']);
      const id = jobIdArg('job info', text!);
      return withSession('job info', parsed, io, async (s) => {
        const job = await existingJob(s, 'job info', id);
        if (!job) return 1;
        const info = jobInfo(job);
        if (s.format === 'json') {
          io.out(json(info));
          return 0;
        }
        io.out(keyValues([['Job ID', info.id], ['Status', info.status], ['Priority', info.priority], ['Depends on', info.dependsOn], ['Submitted by', info.actor], ['Submitted', info.submittedAt], ['Started', info.startedAt], ['Ended', info.endedAt]]));
        info.opcodes.forEach((op, i) => {
          io.out(`  Opcode ${i}: ${op.type} — ${op.status}${op.attempts > 1 ? ` (attempt ${op.attempts})` : ''}\n`);
          if (op.error) io.out(`    Error: ${(op.error as { message: string }).message}\n`);
          if (op.result !== null) io.out(`    Result: ${JSON.stringify(op.result)}\n`);
          for (const line of op.log) io.out(`    ${line.time} ${line.level}: ${line.message}\n`);
        });
        return 0;
      });
    },
  },
  {
    path: ['job', 'watch'],
    usage: 'opl job watch ID',
    summary: 'follow a job live until it ends (running the queue if no engine leads)',
    options: {},
    run: (parsed, io) => {
      const [text] = positional('job watch', parsed, ['id']);
      const id = jobIdArg('job watch', text!);
      return withSession('job watch', parsed, io, async (s) => {
        const job = await existingJob(s, 'job watch', id);
        if (!job) return 1;
        const say = (line: string) => s.format === 'table' && io.out(`${new Date().toISOString()} job ${id}: ${line}\n`);
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
        if (s.format === 'json') io.out(json(jobInfo(finished)));
        return finished.status === 'success' ? 0 : 1;
      });
    },
  },
  {
    path: ['job', 'cancel'],
    usage: 'opl job cancel ID',
    summary: 'cancel a job that has not finished',
    options: {},
    run: (parsed, io) => {
      const [text] = positional('job cancel', parsed, ['id']);
      const id = jobIdArg('job cancel', text!);
      return withSession('job cancel', parsed, io, async (s) => {
        const job = await existingJob(s, 'job cancel', id);
        if (!job) return 1;
        if (FINISHED_JOB_STATUSES.has(job.status)) {
          io.err(`opl: job cancel: job ${id} has already finished (${job.status})\n`);
          return 1;
        }
        await s.plane.cancel(id);
        if (parsed.values.submit) return 0;
        const finished = await s.plane.awaitJob(id);
        if (finished.status === 'canceled') {
          if (s.format === 'json') io.out(json(jobInfo(finished)));
          else io.out(`job ${id} canceled\n`);
          return 0;
        }
        return reportJob(s, finished) === 0 ? (io.err(`opl: job cancel: job ${id} finished before it could be canceled\n`), 1) : 1;
      });
    },
  },
];
