/**
 * Every way an opcode can end other than in success: one closed list, so a script
 * reading `--output json` (and, later, a RAPI client) can branch on a code knowing it
 * has seen them all. The kinds are Temporal's small taxonomy (application, timeout,
 * canceled) plus the one an engine crash needs.
 */
export const REFUSAL_CODES = [
  'not_found',
  'already_exists',
  'invalid_argument',
  'wrong_state',
  'insufficient_resources',
  'in_use',
  'not_supported',
] as const;
/** Why a decider refused an opcode: the configuration does not allow what it asks. */
export type RefusalCode = (typeof REFUSAL_CODES)[number];

export const FAILURE_CODES = [
  ...REFUSAL_CODES,
  /** The cluster kept changing under the opcode; trying again may succeed. */
  'conflict',
  /** A job this one depends on did not succeed. */
  'dependency_failed',
  /** The log holds an opcode that no longer parses. */
  'malformed_opcode',
  /** The iallocator could not be run, or gave no usable answer. */
  'iallocator_failed',
  'storage_error',
  'hypervisor_error',
  /** A node's daemon did not answer, or is not this cluster's node (its certificate). */
  'node_error',
  /** OP_TEST_DELAY was asked to fail. */
  'test_failure',
  'canceled',
  'engine_lost',
  'timeout',
  /** A bug, or a code this version does not know (see `failureSchema` in events.ts). */
  'internal_error',
] as const;
export type FailureCode = (typeof FAILURE_CODES)[number];

export const FAILURE_KINDS = ['application', 'timeout', 'canceled', 'engine_lost'] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];

export interface Failure<C extends FailureCode = FailureCode> {
  kind: FailureKind;
  code: C;
  message: string;
}

export const isFailureCode = (code: string): code is FailureCode => (FAILURE_CODES as readonly string[]).includes(code);

export const failure = <C extends FailureCode>(kind: FailureKind, code: C, message: string): Failure<C> => ({ kind, code, message });

const application =
  <C extends FailureCode>(code: C) =>
  (message: string): Failure<C> =>
    failure('application', code, message);

/** Effects fail as applications, or as timeouts when they were killed for taking too long. */
type EffectKind = Extract<FailureKind, 'application' | 'timeout'>;

type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}` ? `${Head}${Capitalize<CamelCase<Tail>>}` : S;

/** One helper per code, named after it: a code without one does not compile. */
export const failures = {
  notFound: (what: string, name: string) => failure('application', 'not_found', `${what} '${name}' does not exist`),
  alreadyExists: (what: string, name: string) => failure('application', 'already_exists', `${what} '${name}' already exists`),
  invalidArgument: application('invalid_argument'),
  wrongState: application('wrong_state'),
  insufficientResources: application('insufficient_resources'),
  inUse: application('in_use'),
  notSupported: application('not_supported'),
  conflict: application('conflict'),
  dependencyFailed: application('dependency_failed'),
  malformedOpcode: application('malformed_opcode'),
  iallocatorFailed: application('iallocator_failed'),
  storageError: (message: string, kind: EffectKind = 'application') => failure(kind, 'storage_error', message),
  hypervisorError: (message: string, kind: EffectKind = 'application') => failure(kind, 'hypervisor_error', message),
  nodeError: application('node_error'),
  testFailure: application('test_failure'),
  canceled: (message: string) => failure('canceled', 'canceled', message),
  engineLost: (message: string) => failure('engine_lost', 'engine_lost', message),
  timeout: (message: string) => failure('timeout', 'timeout', message),
  internalError: application('internal_error'),
} satisfies { [C in FailureCode as CamelCase<C>]: (...args: never[]) => Failure<C> };

/**
 * Ganeti's OpPrereqError codes (lib/errors.py) and the strings it sends for them, so
 * that a RAPI answer can say what Ganeti would have said.
 */
export const GANETI_ECODES = {
  ECODE_RESOLVER: 'resolver_error',
  ECODE_NORES: 'insufficient_resources',
  ECODE_TEMP_NORES: 'temp_insufficient_resources',
  ECODE_INVAL: 'wrong_input',
  ECODE_STATE: 'wrong_state',
  ECODE_NOENT: 'unknown_entity',
  ECODE_EXISTS: 'already_exists',
  ECODE_NOTUNIQUE: 'resource_not_unique',
  ECODE_FAULT: 'internal_error',
  ECODE_ENVIRON: 'environment_error',
} as const;
export type GanetiEcode = keyof typeof GANETI_ECODES;

/**
 * The Ganeti code closest to each of ours. Where Ganeti has no code (it reports a
 * canceled job by its status, a lost one as JobLost), the choice says why below.
 */
export const GANETI_ECODE_OF: { readonly [C in FailureCode]: GanetiEcode } = {
  not_found: 'ECODE_NOENT',
  already_exists: 'ECODE_EXISTS',
  invalid_argument: 'ECODE_INVAL',
  wrong_state: 'ECODE_STATE',
  insufficient_resources: 'ECODE_NORES',
  // Ganeti refuses removing a non-empty group or a node with instances as ECODE_STATE.
  in_use: 'ECODE_STATE',
  // As Ganeti refuses an operation a disk template does not allow.
  not_supported: 'ECODE_INVAL',
  // Retrying may succeed: Ganeti's "temporarily out of resources".
  conflict: 'ECODE_TEMP_NORES',
  dependency_failed: 'ECODE_STATE',
  malformed_opcode: 'ECODE_INVAL',
  // Ganeti reports an allocator that found no placement as ECODE_NORES.
  iallocator_failed: 'ECODE_NORES',
  storage_error: 'ECODE_ENVIRON',
  hypervisor_error: 'ECODE_ENVIRON',
  // Ganeti reports a node it cannot reach (an RPC failure) as an environment error.
  node_error: 'ECODE_ENVIRON',
  test_failure: 'ECODE_FAULT',
  // The job was stopped on request: its state, not the cluster's, is why it ended.
  canceled: 'ECODE_STATE',
  engine_lost: 'ECODE_FAULT',
  // Something outside the engine (a driver, a node) did not answer in time.
  timeout: 'ECODE_ENVIRON',
  internal_error: 'ECODE_FAULT',
};

/** The string Ganeti's RAPI would carry for this failure's code. */
export const ganetiEcodeValue = (code: FailureCode): string => GANETI_ECODES[GANETI_ECODE_OF[code]];
