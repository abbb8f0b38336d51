import { execFile } from 'node:child_process';
import net from 'node:net';

/** One listening TCP socket from `ss -ltnpH`. */
export interface Listener {
  readonly address: string;
  readonly port: number;
  readonly holders: readonly { readonly name: string; readonly pid: number }[];
}

/**
 * Parses `ss -ltnpH` output (no header). Lines look like
 * `LISTEN 0 511 127.0.0.1:21000 0.0.0.0:* users:(("nginx",pid=12,fd=6),("nginx",pid=13,fd=6))`;
 * IPv6 addresses are bracketed (`[::1]:21000`). Unparseable lines are skipped.
 */
export function parseSsListeners(output: string): Listener[] {
  const out: Listener[] = [];
  for (const line of output.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 4) continue;
    const local = cols[3] as string;
    const colon = local.lastIndexOf(':');
    const port = Number(local.slice(colon + 1));
    if (colon < 0 || !Number.isInteger(port)) continue;
    const holders = [...line.matchAll(/\("([^"]*)",pid=(\d+)/g)].map((m) => ({ name: m[1] as string, pid: Number(m[2]) }));
    out.push({ address: local.slice(0, colon).replace(/^\[|\]$/g, ''), port, holders });
  }
  return out;
}

/** Who listens on `port`, as "name (pid N)" text, or null when ss cannot tell. */
export function describePortHolder(listeners: readonly Listener[], port: number): string | null {
  const holders = listeners.filter((l) => l.port === port).flatMap((l) => l.holders);
  if (holders.length === 0) return null;
  const first = holders[0] as { name: string; pid: number };
  return `${first.name} (pid ${first.pid})`;
}

function runSs(): Promise<string> {
  return new Promise((resolve) => {
    execFile('ss', ['-ltnpH'], { timeout: 3000 }, (err, stdout) => resolve(err ? '' : stdout));
  });
}

/** True when `host:port` can be bound right now. */
export function canBind(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** Throws "port P (tier) is in use by NAME (pid N)" when the port cannot be bound. */
export async function assertPortFree(port: number, tier: string, host = '127.0.0.1'): Promise<void> {
  if (await canBind(port, host)) return;
  const holder = describePortHolder(parseSsListeners(await runSs()), port);
  throw new Error(
    `port ${port} (${tier}) is in use${holder ? ` by ${holder}` : ''}; stop it or choose other ports with LAB_PORT_BASE`,
  );
}
