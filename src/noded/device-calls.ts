import * as E from 'fp-ts/lib/Either.js';
import { z } from 'zod';
import { identifyDevice } from '../adapters/storage/block-devices.js';
import { normaliseDevicePath } from '../domain/devices.js';
import { checkedBody } from './checked-body.js';
import type { Handler } from './http.js';

const IdentifyBody = z.object({
  node: z.string(),
  path: z.string().max(4096).refine((p) => E.isRight(normaliseDevicePath(p)), 'expected an absolute path without . or .. components'),
});

/**
 * `dev-identify`: what a path is on this host (links followed: a device is known by
 * what it is), as adoptions and cluster verify need it. It only looks: nothing is
 * opened for writing, and the answer says no more than stat and blockdev would.
 */
export const deviceCalls = (nodeName: string): Record<string, Handler> => {
  const check = checkedBody('a device call', IdentifyBody, nodeName);
  return {
    'dev-identify': (body) => {
      const call = check(body);
      return identifyDevice(nodeName, call.path);
    },
  };
};
