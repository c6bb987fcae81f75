import * as E from 'fp-ts/lib/Either.js';
import type { HypervisorName } from './hypervisors.js';

/**
 * Ganeti's kvm parameters that opledger's kvm takes, per instance (`-H kvm:NAME=VALUE,…`).
 * Memory and vcpus are not among them: they are the instance's own (--memory, --vcpus), as
 * Ganeti's backend parameters are. Every one left out takes the node's default (the kernel
 * and initrd its node.json names; a kernel_path given has no initrd unless initrd_path
 * is given too, since the node's was made for the node's kernel).
 */
export const KVM_PARAMS = ['kernel_path', 'initrd_path', 'kernel_args', 'boot_order'] as const;
export type KvmParamName = (typeof KVM_PARAMS)[number];
export type HvParams = Partial<Record<KvmParamName, string>>;
const isKvmParam = (name: string): name is KvmParamName => (KVM_PARAMS as readonly string[]).includes(name);

const MAX_PATH = 4096;
const MAX_ARGS = 1024;
const pathProblem = (name: string, value: string): string | undefined => {
  if (value === '') return undefined;
  if (!value.startsWith('/')) return `${name} ${JSON.stringify(value)} is not an absolute path (expected a file on the node, such as /boot/vmlinuz)`;
  if (value.length > MAX_PATH) return `${name} is longer than ${MAX_PATH} characters`;
  // QEMU's -kernel and -initrd are plain arguments, but a ',' would be read as an option separator in -initrd's list form.
  if (/[,\x00-\x1f\x7f]/.test(value)) return `${name} ${JSON.stringify(value)} has a ',' or a control character in it, which QEMU cannot be given`;
  return undefined;
};

/**
 * The parameters an instance's `-H` gives, checked against what its hypervisor takes: one
 * line in our words for the first thing wrong. Only kvm takes any; the fake hypervisor none.
 */
export const checkHvParams = (hypervisor: HypervisorName, given: Readonly<Record<string, string>>): E.Either<string, HvParams> => {
  const names = Object.keys(given).sort();
  if (names.length === 0) return E.right({});
  if (hypervisor !== 'kvm') return E.left(`hypervisor '${hypervisor}' takes no parameters (given: ${names.join(', ')}); only kvm does`);
  const unknown = names.find((n) => !isKvmParam(n));
  if (unknown !== undefined) return E.left(`kvm has no parameter '${unknown}' (it takes ${KVM_PARAMS.join(', ')})`);
  const params = given as HvParams;
  for (const name of ['kernel_path', 'initrd_path'] as const) {
    const problem = params[name] === undefined ? undefined : pathProblem(name, params[name]);
    if (problem) return E.left(problem);
  }
  const args = params.kernel_args;
  if (args !== undefined && (args.length > MAX_ARGS || /[\x00-\x1f\x7f]/.test(args))) return E.left(`kernel_args must be one line of at most ${MAX_ARGS} characters, without control characters`);
  if (params.boot_order !== undefined && params.boot_order !== 'disk') {
    return E.left(`boot_order '${params.boot_order}' is not one opledger's kvm has: a guest without a kernel boots only from its first disk ('disk')`);
  }
  if (params.kernel_path === '' && ((params.initrd_path ?? '') !== '' || params.kernel_args !== undefined)) {
    return E.left('kernel_path is empty, so the guest boots from its disk: initrd_path and kernel_args need a kernel to go with');
  }
  return E.right(Object.fromEntries(names.map((n) => [n, given[n]!])) as HvParams);
};

/** An instance's parameters after Ganeti's `modify -H`: those named are set; one given as `default` is dropped. */
export const modifiedHvParams = (current: HvParams | undefined, changes: Readonly<Record<string, string>>): Record<string, string> => {
  const next: Record<string, string> = { ...current };
  for (const [name, value] of Object.entries(changes)) {
    if (value === 'default') delete next[name];
    else next[name] = value;
  }
  return next;
};

/** Whether the guest boots from its first disk rather than from a kernel given to QEMU. */
export const bootsFromDisk = (params: HvParams | undefined): boolean => params?.kernel_path === '';

/** Ganeti's `NAME:PARAM=VALUE,…` as `instance add -H` is given it: the name and its parameters, or what is wrong. */
export const parseHypervisorOption = (given: string): E.Either<string, { name: string; params: Record<string, string> }> => {
  const colon = given.indexOf(':');
  const name = colon < 0 ? given : given.slice(0, colon);
  return E.map((params: Record<string, string>) => ({ name, params }))(parseParamList(colon < 0 ? '' : given.slice(colon + 1), `after '${name}:'`));
};

/** `PARAM=VALUE,…` (as `instance modify -H` is given it, and after `NAME:`): the parameters, or what is wrong. */
export const parseParamList = (text: string, where = 'in -H'): E.Either<string, Record<string, string>> => {
  // No prototype: a parameter named toString or __proto__ is only an unknown one.
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  // A kernel command line has commas of its own (console=ttyS0,115200): after kernel_args, a
  // piece that names no kvm parameter is taken as more of its value rather than refused.
  let last: string | undefined;
  for (const piece of text === '' ? [] : text.split(',')) {
    const eq = piece.indexOf('=');
    const key = piece.slice(0, Math.max(eq, 0));
    if (last === 'kernel_args' && (eq <= 0 || !isKvmParam(key))) {
      params[last] += `,${piece}`;
      continue;
    }
    if (eq <= 0) return E.left(`expected PARAM=VALUE ${where}, got ${JSON.stringify(piece)}`);
    if (Object.hasOwn(params, key)) return E.left(`parameter '${key}' is given twice`);
    params[key] = piece.slice(eq + 1);
    last = key;
  }
  return E.right({ ...params });
};
