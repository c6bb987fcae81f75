import { z } from 'zod';
import { MigrationUriSchema, NodeAddressSchema } from '../domain/node-address.js';
import type { LiveMigration } from '../domain/ports/hypervisor.js';
import { checkedBody } from './checked-body.js';
import { HypervisorCallBody } from './hypervisor-body.js';
import type { Handler } from './http.js';

const AcceptBody = HypervisorCallBody.extend({ address: NodeAddressSchema.shape.host });
const SendBody = HypervisorCallBody.extend({ uri: MigrationUriSchema });
const ResumeBody = HypervisorCallBody.extend({ evenIfCompleted: z.boolean().optional() });
const ProgressBody = z.object({ node: z.string(), name: HypervisorCallBody.shape.instance.shape.name });

/**
 * A node's part of a live migration (kvm only): `hv-accept` on the destination,
 * `hv-send` on the source (answering once the guest has gone, with QEMU's figures),
 * `hv-migration` for what a send under way last saw (the engine's progress lines; it
 * never waits on the send), `hv-confirm` on the destination, `hv-resume` on the source, `hv-withdraw` on a
 * destination whose migration is taken back.
 */
export const migrationCalls = (nodeName: string, live: LiveMigration | undefined): Record<string, Handler> => {
  const served = () => {
    if (!live) throw Object.assign(new Error(`node ${nodeName} has no kvm hypervisor (its node.json names no kvm kernel): it cannot take part in a live migration`), { status: 400 });
    return live;
  };
  const kvmOnly = <T extends { instance: { hypervisor: string } }>(call: T): T => {
    if (call.instance.hypervisor !== 'kvm') throw Object.assign(new Error(`only kvm guests migrate live; ${nodeName} was asked to for a ${call.instance.hypervisor} guest`), { status: 400 });
    return call;
  };
  const accept = checkedBody('a migration accept call', AcceptBody, nodeName);
  const send = checkedBody('a migration send call', SendBody, nodeName);
  const plain = checkedBody('a migration call', HypervisorCallBody, nodeName);
  const resume = checkedBody('a migration resume call', ResumeBody, nodeName);
  const progress = checkedBody('a migration progress call', ProgressBody, nodeName);
  const instanceOf = ({ hypervisor: _which, ...instance }: z.infer<typeof HypervisorCallBody>['instance']) => instance;
  return {
    'hv-accept': async (body) => {
      const call = kvmOnly(accept(body));
      return served().accept(nodeName, instanceOf(call.instance), call.address);
    },
    'hv-send': async (body) => {
      const call = kvmOnly(send(body));
      return served().send(nodeName, instanceOf(call.instance), call.uri);
    },
    'hv-migration': async (body) => ({ progress: served().progress?.(nodeName, progress(body).name) ?? null }),
    'hv-confirm': async (body) => (await served().confirm(nodeName, instanceOf(kvmOnly(plain(body)).instance)), {}),
    'hv-resume': async (body) => {
      const call = kvmOnly(resume(body));
      await served().resume(nodeName, instanceOf(call.instance), { evenIfCompleted: call.evenIfCompleted ?? false });
      return {};
    },
    'hv-withdraw': async (body) => (await served().withdraw(nodeName, instanceOf(kvmOnly(plain(body)).instance)), {}),
  };
};
