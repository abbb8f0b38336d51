import type { NginxAccessEntry } from '../../shared/capture-types.ts';
import { parseJsonLines } from '../json-lines.ts';

/** An access-log entry with the fields the proxy logs beyond `NginxAccessEntry`. */
export interface ProxyAccessEntry extends NginxAccessEntry {
  /** The X-Request-ID the client sent, or null when it sent none; differs from requestId when replaced. */
  readonly clientRequestId: string | null;
  /** Log time, ms since the epoch (millisecond resolution, as nginx's $msec). */
  readonly msec: number | null;
}

export interface ParsedAccessLog {
  readonly entries: readonly ProxyAccessEntry[];
  /** One line per line that could not be used, naming its line number. */
  readonly warnings: readonly string[];
}

const REQUIRED = ['request_id', 'time_iso8601', 'method', 'uri', 'status'] as const;

/**
 * nginx prints '-' when a value does not exist, and a comma (or ' : ') separated list when it
 * tried more than one upstream; the time spent is then the sum.
 */
function seconds(raw: unknown): number | null {
  if (typeof raw === 'number') return Number.isFinite(raw) ? raw : null;
  if (typeof raw !== 'string' || raw === '' || raw === '-') return null;
  let total = 0;
  for (const part of raw.split(/\s*[,:]\s*/)) {
    if (part === '-') continue;
    const n = Number(part);
    if (part === '' || !Number.isFinite(n)) return null;
    total += n;
  }
  return total;
}

function integer(raw: unknown): number | null {
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw !== '' && raw !== '-' ? Number(raw) : NaN;
  return Number.isInteger(n) ? n : null;
}

function text(raw: unknown): string | null {
  return typeof raw === 'string' && raw !== '' && raw !== '-' ? raw : null;
}

/** Converts one parsed JSON line; returns a reason string when it is not an access entry. */
export function toAccessEntry(raw: unknown): ProxyAccessEntry | string {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'not a JSON object';
  const r = raw as Record<string, unknown>;
  for (const k of REQUIRED) {
    if (typeof r[k] !== 'string' && typeof r[k] !== 'number') return `missing field '${k}'`;
  }
  const status = integer(r.status);
  if (status === null) return `bad status '${String(r.status)}'`;
  const msec = seconds(r.msec);
  return {
    requestId: String(r.request_id),
    timeIso: String(r.time_iso8601),
    method: String(r.method),
    uri: String(r.uri),
    status,
    requestTime: seconds(r.request_time),
    upstreamConnectTime: seconds(r.upstream_connect_time),
    upstreamHeaderTime: seconds(r.upstream_header_time),
    upstreamResponseTime: seconds(r.upstream_response_time),
    upstreamAddr: text(r.upstream_addr),
    connection: integer(r.connection),
    connectionRequests: integer(r.connection_requests),
    remoteAddr: text(r.remote_addr),
    remotePort: integer(r.remote_port),
    serverPort: integer(r.server_port),
    clientRequestId: text(r.client_request_id),
    msec: msec === null ? null : Math.round(msec * 1000),
  };
}

/** Parses the proxy's JSON-lines access log. Never throws: bad lines become warnings. */
export function parseAccessLog(content: string): ParsedAccessLog {
  const { values, warnings } = parseJsonLines(content, 'access log', toAccessEntry);
  return { entries: values, warnings };
}
