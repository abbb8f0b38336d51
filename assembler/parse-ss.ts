/**
 * Reads `ss -tin` output (a capture's ss.txt): one socket per header line, its TCP info on the
 * indented line after it. RTTs are kept as ss prints them, in milliseconds.
 *
 *   ESTAB 0 0   127.0.0.1:27001  127.0.0.1:60988
 *   	 bbr wscale:10,10 rto:208 rtt:6.431/10.957 … minrtt:0.024 …
 */

export interface SsEndpoint {
  readonly address: string;
  readonly port: number;
}

export interface SsSocket {
  readonly state: string;
  readonly local: SsEndpoint;
  readonly peer: SsEndpoint;
  /** Smoothed RTT and its variance, ms; null when ss printed none. */
  readonly rttMs: number | null;
  readonly rttVarMs: number | null;
  /** The smallest RTT sample over the connection's life, ms. */
  readonly minRttMs: number | null;
  /** Retransmitted segments (the total of `retrans:cur/total`), 0 when absent. */
  readonly retransmits: number;
}

export interface ParsedSs {
  readonly sockets: readonly SsSocket[];
  /** One line per line that could not be read, naming its line number. */
  readonly warnings: readonly string[];
}

/** `127.0.0.1:80`, `[::1]:80`, `[::ffff:127.0.0.1]:80`, `*:80` → address (IPv4-mapped unwrapped) and port. */
export function parseSsEndpoint(text: string): SsEndpoint | null {
  const m = /^\[?([^\]]*?)\]?(?:%[^:]+)?:(\d+|\*)$/.exec(text);
  if (!m || m[2] === '*') return null;
  const raw = m[1] as string;
  const address = raw.startsWith('::ffff:') && raw.includes('.') ? raw.slice(7) : raw;
  return { address, port: Number(m[2]) };
}

function field(info: string, name: string): string | null {
  const m = new RegExp(`(?:^|\\s)${name}:(\\S+)`).exec(info);
  return m ? (m[1] as string) : null;
}

function num(s: string | null | undefined): number | null {
  if (s == null) return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
}

function socketOf(header: string, info: string): SsSocket | null {
  const cols = header.trim().split(/\s+/);
  if (cols.length < 5) return null;
  const local = parseSsEndpoint(cols[3] as string);
  const peer = parseSsEndpoint(cols[4] as string);
  if (!local || !peer) return null;
  const rtt = field(info, 'rtt')?.split('/');
  const retrans = field(info, 'retrans')?.split('/');
  return {
    state: cols[0] as string,
    local,
    peer,
    rttMs: num(rtt?.[0]),
    rttVarMs: num(rtt?.[1]),
    minRttMs: num(field(info, 'minrtt')),
    retransmits: num(retrans?.[1] ?? retrans?.[0]) ?? 0,
  };
}

/** Parses `ss -tin` text. Never throws: lines it cannot read become warnings. */
export function parseSs(text: string): ParsedSs {
  const sockets: SsSocket[] = [];
  const warnings: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.trim() === '' || /^\s/.test(line) || line.startsWith('State ')) continue;
    const next = lines[i + 1] ?? '';
    const info = /^\s/.test(next) ? next : '';
    if (info !== '') i++;
    const s = socketOf(line, info);
    if (s) sockets.push(s);
    else warnings.push(`ss line ${i + 1 - (info !== '' ? 1 : 0)}: not a socket line: ${line.slice(0, 60)}`);
  }
  return { sockets, warnings };
}
