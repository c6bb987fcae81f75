import type { DiskStorage, DiskTarget, StorageContext } from '../../domain/ports/disk-storage.js';
import { NEVER_RAN_STATES, type Hypervisor, type HypervisorInstance, type LiveMigration, type MigrationProgress, type MigrationStats } from '../../domain/ports/hypervisor.js';
import type { DiskTemplate } from '../../domain/templates.js';
import type { OobCommand } from '../../domain/opcodes.js';
import type { OutOfBand } from '../../domain/ports/out-of-band.js';

/** One call into the world: a hypervisor on a node, a template's storage, or a node's oob program. */
export type Effect =
  /** `expectPowered` (power-status): the answer the step needs; any other fails it. */
  | { kind: 'oob'; command: OobCommand; nodeName: string; program: string; expectPowered?: boolean }
  | { kind: 'hypervisor'; action: 'start' | 'cleanup' | 'confirm' | 'withdraw'; nodeName: string; instance: HypervisorInstance }
  /** `timeoutSeconds`: how long the guest is given to power down before it is ended (absent: the node's default). */
  | { kind: 'hypervisor'; action: 'stop'; nodeName: string; instance: HypervisorInstance; timeoutSeconds?: number }
  /** `destination`: where the migration being taken back sent the guest, asked first whether it runs it there. */
  | { kind: 'hypervisor'; action: 'resume'; nodeName: string; instance: HypervisorInstance; destination?: string }
  | { kind: 'hypervisor'; action: 'accept'; nodeName: string; instance: HypervisorInstance; address: string }
  | { kind: 'hypervisor'; action: 'send'; nodeName: string; instance: HypervisorInstance; uri: string; toNodeName: string }
  | { kind: 'disk'; action: 'create' | 'remove' | 'attach' | 'detach'; target: DiskTarget }
  | { kind: 'disk'; action: 'grow'; target: DiskTarget; sizeMib: number }
  | { kind: 'disk'; action: 'rename'; target: DiskTarget; newInstanceName: string; newLogicalId: string };

/** What an effect learnt that the events it serves must record. */
export interface EffectOutcome {
  logicalId?: string;
  sizeMib?: number;
  device?: string;
  /** Where a migration's destination waits for the guest. */
  uri?: string;
  /** What a live migration cost, as the source's QEMU measured it. */
  migration?: MigrationStats;
  /** What a node's oob program said of its power. */
  powered?: boolean;
}

export interface EffectPorts {
  hypervisor: Hypervisor;
  storage: Partial<Record<DiskTemplate, DiskStorage>>;
  oob?: OutOfBand;
}

/** The line the job log gets, and the intent records, before the effect runs. */
export const describeEffect = (effect: Effect): string => {
  if (effect.kind === 'oob') {
    const through = `through its oob program ${effect.program}`;
    if (effect.command === 'power-status') return `checking ${through} that node ${effect.nodeName} is powered ${effect.expectPowered === false ? 'off' : 'on'}`;
    return `${{ 'power-on': 'powering on', 'power-off': 'powering off', 'power-cycle': 'power-cycling' }[effect.command]} node ${effect.nodeName} ${through}`;
  }
  if (effect.kind === 'hypervisor') {
    const { name } = effect.instance;
    switch (effect.action) {
      case 'accept':
        return `preparing node ${effect.nodeName} to receive instance ${name} live (listening on ${effect.address})`;
      case 'send':
        return `migrating instance ${name} live from node ${effect.nodeName} to node ${effect.toNodeName} (${effect.uri})`;
      case 'confirm':
        return `checking that instance ${name} runs on node ${effect.nodeName}`;
      case 'resume':
        return `letting instance ${name} run on node ${effect.nodeName} again`;
      case 'withdraw':
        return `ending instance ${name} where it waited for its migration on node ${effect.nodeName}`;
      case 'stop':
        return `stopping instance ${name} on node ${effect.nodeName}${effect.timeoutSeconds === undefined ? '' : effect.timeoutSeconds === 0 ? ' (ended at once, not powered down)' : ` (given ${effect.timeoutSeconds} s to power down)`}`;
      default:
        return `${{ start: 'starting', cleanup: 'cleaning up' }[effect.action]} instance ${name} on node ${effect.nodeName}`;
    }
  }
  const { target } = effect;
  const where = target.template === 'ext' ? `ext:${target.disk.pool ?? '?'}` : target.template;
  const disk = `disk ${target.disk.index} of ${target.instance.name} (${where}${target.disk.logicalId ? ` ${target.disk.logicalId}` : ''})`;
  switch (effect.action) {
    case 'create':
      return target.disk.adopted
        ? `adopting ${disk} after checking it on nodes ${target.peers.join(', ')}`
        : `creating ${disk}, ${target.disk.sizeMib} MiB, on node ${target.nodeName}`;
    case 'grow':
      return `growing ${disk} from ${target.disk.sizeMib} to ${effect.sizeMib} MiB`;
    case 'remove':
      return `removing ${disk}`;
    case 'attach':
      return `attaching ${disk} on node ${target.nodeName}`;
    case 'detach':
      return `detaching ${disk} from node ${target.nodeName}`;
    case 'rename':
      return target.template === 'ext' ? `renaming ${disk} for the instance's new name ${effect.newInstanceName}` : `renaming ${disk} to ${effect.newLogicalId}`;
  }
};

/** What the intent records of an effect: which call, where, on which volume — for auditors and successors. */
export const effectSummary = (effect: Effect): Record<string, unknown> =>
  effect.kind === 'oob'
    ? { kind: 'oob', command: effect.command, node: effect.nodeName, program: effect.program, ...(effect.expectPowered !== undefined && { expectPowered: effect.expectPowered }) }
    : effect.kind === 'hypervisor'
    ? {
        kind: 'hypervisor',
        action: effect.action,
        node: effect.nodeName,
        instance: effect.instance.name,
        instanceUuid: effect.instance.uuid,
        ...(effect.action === 'accept' && { address: effect.address }),
        ...(effect.action === 'send' && { uri: effect.uri, toNode: effect.toNodeName }),
        ...(effect.action === 'resume' && effect.destination && { destination: effect.destination }),
        ...(effect.action === 'stop' && effect.timeoutSeconds !== undefined && { timeoutSeconds: effect.timeoutSeconds }),
      }
    : {
        kind: 'disk',
        action: effect.action,
        node: effect.target.nodeName,
        template: effect.target.template,
        instance: effect.target.instance.name,
        instanceUuid: effect.target.instance.uuid,
        disk: effect.target.disk.index,
        logicalId: effect.target.disk.logicalId,
        ...(effect.target.pool && { pool: effect.target.pool.name, driver: effect.target.pool.driver }),
        ...(effect.action === 'grow' && { sizeMib: effect.sizeMib }),
        ...(effect.action === 'rename' && { newLogicalId: effect.newLogicalId }),
      };

const MIB = 1024 * 1024;
const mib = (bytes: number) => Math.round(bytes / MIB);
/** A progress line of a live migration, as `job watch` shows it. */
export const describeProgress = (name: string, p: MigrationProgress): string =>
  `migrating ${name}: ${mib(p.transferredBytes)} of ${mib(p.totalBytes)} MiB sent, ${mib(p.remainingBytes)} MiB remaining${p.expectedDowntimeMs !== undefined ? `, expected downtime ${p.expectedDowntimeMs} ms` : ''} (${p.status})`;

const liveOf = (hypervisor: Hypervisor): LiveMigration => {
  if (!hypervisor.live) throw new Error('this engine has no live migration (no kvm nodes)');
  return hypervisor.live;
};

/**
 * Before a migration's source runs again: whether its destination holds no guest that ran
 * there — none at all, or one still waiting, which is ended first (it would start running
 * by itself once the stream is in). Anything else, or no answer, leaves the source paused.
 */
const destinationLetGo = async (hypervisor: Hypervisor, node: string, instance: HypervisorInstance, progress?: (line: string) => void): Promise<boolean> => {
  const there = hypervisor.inspect ? await hypervisor.inspect(node, instance).then((s) => s?.status ?? 'none', (e: unknown) => `no answer (${e instanceof Error ? e.message : String(e)})`) : 'no answer';
  if (there === 'none') return true;
  if (!NEVER_RAN_STATES.has(there)) {
    progress?.(`instance ${instance.name} on node ${node}, the migration's destination, is ${there}: the source is not run again beside it`);
    return false;
  }
  progress?.(`ending instance ${instance.name} on node ${node}, where it still waited for the stream, before the source runs again`);
  await liveOf(hypervisor).withdraw(node, instance);
  return true;
};

/** A node's oob program run; a power status other than the one the step needs fails it (a node still powered is not fenced). */
const runOob = async (ports: EffectPorts, effect: Extract<Effect, { kind: 'oob' }>, progress?: (line: string) => void): Promise<EffectOutcome> => {
  const { oob } = ports;
  if (!oob) throw new Error('this engine runs no oob programs');
  const ask = () => oob.run(effect.program, effect.command, effect.nodeName);
  let answer = await ask();
  // A BMC may take a moment to say what it did: asked again, a bounded number of times.
  for (let tries = 1; effect.expectPowered !== undefined && answer.powered !== effect.expectPowered && tries < POWER_SETTLE_TRIES; tries++) {
    if (tries === 1) progress?.(`node ${effect.nodeName} is still powered ${answer.powered ? 'on' : 'off'}; asking again, up to ${POWER_SETTLE_TRIES - 1} more times a second apart`);
    await new Promise((resolve) => setTimeout(resolve, POWER_SETTLE_PAUSE_MS));
    answer = await ask();
  }
  if (effect.expectPowered !== undefined && answer.powered !== effect.expectPowered) {
    throw new Error(`it says the node is still powered ${answer.powered ? 'on' : 'off'}`);
  }
  return answer.powered === undefined ? {} : { powered: answer.powered };
};
const POWER_SETTLE_TRIES = 10;
const POWER_SETTLE_PAUSE_MS = 1_000;

/** `progress`: where a long call says how far it has got (lines for the job log). */
export const runEffect = async (ports: EffectPorts, effect: Effect, ctx: StorageContext, progress?: (line: string) => void): Promise<EffectOutcome> => {
  if (effect.kind === 'oob') return runOob(ports, effect, progress);
  if (effect.kind === 'hypervisor') {
    const { nodeName: node, instance } = effect;
    switch (effect.action) {
      case 'accept':
        return { uri: (await liveOf(ports.hypervisor).accept(node, instance, effect.address)).uri };
      case 'send': {
        let lastLine = 0;
        const migration = await liveOf(ports.hypervisor).send(node, instance, effect.uri, (p) => {
          // At most a line a second, however often the hypervisor reports.
          if (Date.now() - lastLine < 1_000) return;
          lastLine = Date.now();
          progress?.(describeProgress(instance.name, p));
        });
        progress?.(`migrated ${instance.name} to node ${effect.toNodeName} in ${(migration.totalMs / 1000).toFixed(2)} s: downtime ${migration.downtimeMs} ms, ${mib(migration.bytes)} MiB sent`);
        return { migration };
      }
      case 'confirm':
      case 'withdraw':
        await liveOf(ports.hypervisor)[effect.action](node, instance);
        return {};
      case 'resume': {
        // A source paused after a migration that completed runs again only once its destination is known to hold no guest that ran.
        const letGo = effect.destination !== undefined && (await destinationLetGo(ports.hypervisor, effect.destination, instance, progress));
        await liveOf(ports.hypervisor).resume(node, instance, { evenIfCompleted: letGo });
        return {};
      }
      case 'stop':
        await ports.hypervisor.stop(node, instance, effect.timeoutSeconds === undefined ? {} : { timeoutSeconds: effect.timeoutSeconds });
        return {};
      default:
        await ports.hypervisor[effect.action](node, instance);
        return {};
    }
  }
  const storage = ports.storage[effect.target.template];
  if (!storage) throw new Error(`no storage backend for '${effect.target.template}' disks`);
  switch (effect.action) {
    case 'create':
      return storage.create(effect.target, ctx);
    case 'grow':
      return storage.grow(effect.target, effect.sizeMib, ctx);
    case 'remove':
      await storage.remove(effect.target, ctx);
      return {};
    case 'attach':
      return { device: (await storage.attach(effect.target, ctx)).device };
    case 'detach':
      await storage.detach(effect.target, ctx);
      return {};
    case 'rename':
      return storage.rename(effect.target, effect.newInstanceName, effect.newLogicalId, ctx);
  }
};
