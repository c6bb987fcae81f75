import { z } from 'zod';
import { parseCallId } from '../adapters/process/call-journal.js';
import { driverScripts, findDriver, GANETI_EXTSTORAGE_DIR, missingActions, runDriverScript } from '../adapters/storage/driver-runner.js';
import { DRIVER_ACTIONS, PROTOCOL_VARIABLES, type DriverAction } from '../domain/driver-protocol.js';
import { checkedBody } from './checked-body.js';
import type { Handler } from './http.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const KNOWN = new Set<string>(PROTOCOL_VARIABLES);
/** A driver runs a day at most: a bound on what a caller may ask the node to wait for. */
const LONGEST_MS = 24 * 3600_000;

const DriverRunBody = z.object({
  node: z.string(),
  driver: z.string().regex(NAME, 'expected a driver name'),
  action: z.enum(DRIVER_ACTIONS as [DriverAction, ...DriverAction[]]),
  // Only the protocol's variables and the pool's and disk's parameters (EXTP_*, named as
  // the engine names them): never PATH, LD_PRELOAD or the like. No NUL: it cannot be passed.
  env: z.record(z.string(), z.string().max(1_048_576).refine((v) => !v.includes('\0'), 'expected no NUL byte in a value')).superRefine((env, ctx) => {
    const foreign = Object.keys(env).filter((key) => !KNOWN.has(key) && !/^EXTP_[^=\0]{1,256}$/.test(key));
    if (foreign.length) ctx.addIssue({ code: 'custom', message: `expected only storage-driver protocol variables, not ${foreign.slice(0, 3).join(', ')}` });
    if (Object.keys(env).length > 4096) ctx.addIssue({ code: 'custom', message: 'expected at most 4096 variables' });
  }),
  timeoutMs: z.number().int().positive().max(LONGEST_MS),
  callId: z.string().refine((id) => parseCallId(id)._tag === 'Right', 'expected a call id').optional(),
});

const DriverCheckBody = z.object({ node: z.string(), drivers: z.array(z.string().regex(NAME, 'expected a driver name')).max(256) });

const notHere = (driver: string, nodeName: string, searchPath: readonly string[]) =>
  Object.assign(new Error(`storage driver '${driver}' is not on node ${nodeName} (looked in ${searchPath.join(':')})`), { status: 404 });

/**
 * Storage drivers run on the node: `driver-run` runs one driver's executable for one
 * action with the protocol's variables (NODE_NAME must be this node), at most once per
 * call id (a journal in the node's directory: a retry gets the first run's answer);
 * `driver-check` says which drivers are here with what a pool needs. The caller names a
 * driver, never a path: the node finds it in its own driver directories.
 */
export const driverCalls = (nodeName: string, driverDirs: readonly string[], journalDir: string): Record<string, Handler> => {
  const searchPath = [...driverDirs, GANETI_EXTSTORAGE_DIR];
  const checkRun = checkedBody('a driver call', DriverRunBody, nodeName);
  const checkCheck = checkedBody('a driver check', DriverCheckBody, nodeName);
  return {
    'driver-run': async (body) => {
      const call = checkRun(body);
      if (call.env.NODE_NAME !== nodeName) throw Object.assign(new Error(`a driver call whose NODE_NAME is not '${nodeName}'`), { status: 400 });
      const dir = await findDriver(call.driver, searchPath);
      if (!dir) throw notHere(call.driver, nodeName, searchPath);
      const scripts = await driverScripts(dir);
      const script = await scripts.script(call.action);
      if (!script) return { style: scripts.style };
      const journal = call.callId === undefined ? undefined : { dir: journalDir, callId: call.callId };
      return { style: scripts.style, run: await runDriverScript(script, call.env, call.timeoutMs, dir, journal) };
    },
    'driver-check': async (body) => {
      const call = checkCheck(body);
      const drivers = await Promise.all(
        call.drivers.map(async (driver) => {
          const dir = await findDriver(driver, searchPath);
          if (!dir) return { driver, problem: `is not here (looked in ${searchPath.join(':')})` };
          const scripts = await driverScripts(dir);
          const missing = await missingActions(scripts);
          return missing.length ? { driver, problem: `(${dir}) has no ${missing.join(' or ')} executable` } : { driver };
        }),
      );
      return { drivers };
    },
  };
};
