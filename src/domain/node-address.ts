import { z } from 'zod';

/** Ganeti's noded port, and ours. */
export const NODED_PORT = 1811;

/** Where a migration's destination waits for the guest, as its QEMU was told to listen: only TCP to a host and a port. */
export const MigrationUriSchema = z.string().regex(/^tcp:(\[[0-9a-fA-F:]+\]|[A-Za-z0-9][A-Za-z0-9.-]{0,252}):\d{1,5}$/, "expected 'tcp:HOST:PORT'");

/** Where a node's daemon listens, as recorded with the node. */
export const NodeAddressSchema = z.object({
  host: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$|^[0-9a-fA-F:]+$/, 'a host name or an IP address'),
  port: z.number().int().min(1).max(65535),
});
export type NodeAddressValue = z.infer<typeof NodeAddressSchema>;

/** `HOST`, `HOST:PORT` or `[IPV6]:PORT`, as `node add --address` takes it; the port defaults to 1811. */
export const parseNodeAddress = (text: string): NodeAddressValue | string => {
  const match = /^\[([0-9a-fA-F:]+)\](?::(\d{1,5}))?$|^([^:[\]]+)(?::(\d{1,5}))?$|^([0-9a-fA-F:]+)$/.exec(text.trim());
  if (!match) return `'${text}' is not an address (expected HOST, HOST:PORT or [IPv6]:PORT)`;
  const host = match[1] ?? match[3] ?? match[5]!;
  const port = Number(match[2] ?? match[4] ?? NODED_PORT);
  const parsed = NodeAddressSchema.safeParse({ host, port });
  if (!parsed.success) return `'${text}': ${parsed.error.issues[0]!.path[0] === 'port' ? `port ${port} is not between 1 and 65535` : `'${host}' is not a host name or an IP address`}`;
  return parsed.data;
};

export const formatNodeAddress = (a: NodeAddressValue): string => (a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`);

/** What a node's daemon reported when it was added (or last asked), as recorded. */
export const NodeReportedSchema = z.object({
  at: z.string(),
  hostname: z.string(),
  memoryTotalMib: z.number().int().nonnegative(),
  memoryFreeMib: z.number().int().nonnegative(),
  cpus: z.number().int().positive(),
  /** Its clock minus ours when it answered, in ms. */
  clockSkewMs: z.number(),
});
export type NodeReported = z.infer<typeof NodeReportedSchema>;
