import { describe, expect, it } from 'vitest';
import { DomainError, notFound } from '../../src/domain/errors.js';
import { parseEvent, type EventOf } from '../../src/domain/events.js';
import { FAILURE_CODES, GANETI_ECODE_OF, GANETI_ECODES, REFUSAL_CODES, failures, ganetiEcodeValue } from '../../src/domain/failures.js';
import { evolveJob, newJobView } from '../../src/projections/job-view.js';

const camel = (code: string) => code.replace(/_(\w)/g, (_, c: string) => c.toUpperCase());

describe('the failure taxonomy', () => {
  it('has a helper for every code, giving that code', () => {
    const helpers = failures as unknown as Record<string, (a: string, b: string) => { code: string }>;
    expect(Object.keys(failures).sort()).toEqual(FAILURE_CODES.map(camel).sort());
    for (const code of FAILURE_CODES) expect(helpers[camel(code)]!('x', 'y').code).toBe(code);
  });

  it('spells canceled one way, as a kind and as a code', () => {
    expect(failures.canceled('canceled by request')).toEqual({ kind: 'canceled', code: 'canceled', message: 'canceled by request' });
    expect(failures.engineLost('lost')).toEqual({ kind: 'engine_lost', code: 'engine_lost', message: 'lost' });
    expect(failures.storageError('create failed', 'timeout')).toEqual({ kind: 'timeout', code: 'storage_error', message: 'create failed' });
    expect(failures.notFound('node', 'n9')).toEqual({ kind: 'application', code: 'not_found', message: "node 'n9' does not exist" });
  });

  it('turns a refusal into the failure a job records', () => {
    expect(notFound('node', 'n9').toFailure()).toEqual(failures.notFound('node', 'n9'));
    for (const code of REFUSAL_CODES) expect(new DomainError(code, 'm').toFailure()).toEqual({ kind: 'application', code, message: 'm' });
  });

  it('maps every code to one of Ganeti’s ECODE_* and its RAPI string', () => {
    expect(Object.keys(GANETI_ECODE_OF).sort()).toEqual([...FAILURE_CODES].sort());
    for (const code of FAILURE_CODES) expect(Object.keys(GANETI_ECODES)).toContain(GANETI_ECODE_OF[code]);
    expect(ganetiEcodeValue('not_found')).toBe('unknown_entity');
    expect(ganetiEcodeValue('invalid_argument')).toBe('wrong_input');
    expect(ganetiEcodeValue('insufficient_resources')).toBe('insufficient_resources');
    expect(ganetiEcodeValue('conflict')).toBe('temp_insufficient_resources');
  });
});

describe('reading failures from old logs', () => {
  const failed = (failure: unknown) => parseEvent('OpcodeFailed', { jobId: 1, opIndex: 0, failure }) as EventOf<'OpcodeFailed'>;

  it('reads a failure as it was written', () => {
    expect(failed({ kind: 'timeout', code: 'storage_error', message: 'm' }).data.failure).toEqual({ kind: 'timeout', code: 'storage_error', message: 'm' });
  });

  it("reads the old spelling 'cancelled' as 'canceled'", () => {
    expect(failed({ kind: 'cancelled', code: 'canceled', message: 'canceled by request' }).data.failure).toEqual(failures.canceled('canceled by request'));
  });

  it("reads a code it does not know as 'internal_error', keeping the stored one in the message", () => {
    expect(failed({ kind: 'application', code: 'quota_exceeded', message: 'too many' }).data.failure).toEqual({
      kind: 'application',
      code: 'internal_error',
      message: "too many (recorded with code 'quota_exceeded', unknown to this version)",
    });
  });

  it('still refuses a failure that is not one: an unknown kind', () => {
    expect(() => failed({ kind: 'exploded', code: 'conflict', message: 'm' })).toThrow(/malformed 'OpcodeFailed' event in the log/);
  });

  it('shows an old canceled opcode as canceled in the job view', () => {
    const job = newJobView(1, { opcodes: [{ type: 'OP_TEST_DELAY' }], priority: 0, dependsOn: [], actor: 'op', submittedAt: 't0' });
    evolveJob(job, failed({ kind: 'cancelled', code: 'canceled', message: 'canceled by request' }), 't1');
    expect(job.opcodes[0]).toMatchObject({ status: 'canceled', error: { kind: 'canceled', code: 'canceled' } });
  });
});
