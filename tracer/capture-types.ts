/**
 * A capture directory, as written by `lab trace` and read without privileges:
 *
 *   meta.json            CaptureMeta (versioned)
 *   events.bin           the loader's binary records, back to back (probes/events.h)
 *   client.jsonl         one ClientObservation per line
 *   nginx-access.jsonl   nginx's JSON access log lines written during the capture
 *
 * The no-BPF mode writes app events as events.jsonl (the same fields as TraceEvent, bigints as
 * decimal strings) instead of events.bin.
 */
import type { TraceEvent } from './event-types.ts';

export const CAPTURE_VERSION = 1;

export type Tier = 'nginx' | 'app' | 'postgres' | 'client';

export interface CaptureMeta {
  readonly version: number;
  readonly createdAt: string;
  readonly kernel: string;
  /** What produced the events: the BPF loader, or the app's file probes without BPF. */
  readonly source: 'bpf' | 'app-file';
  /** Which hook set ran, e.g. { sockets: 'tracepoint', files: 'tracepoint', usdt: 'usdt' }. */
  readonly hooks: Readonly<Record<string, string>>;
  /**
   * One sample of both clocks taken together: wallNs - monotonicNs maps event times to wall
   * time (decimal strings: nanosecond values exceed 2^53).
   */
  readonly clock: { readonly monotonicNs: string; readonly realtimeNs: string };
  /** Pids of each tier at capture start (PostgreSQL backends forked later appear as ProcFork). */
  readonly pids: Readonly<Partial<Record<Tier, readonly number[]>>>;
  readonly ports: { readonly proxy: number; readonly app: number; readonly postgres: number };
  /** Ring-buffer reserve failures and other losses, by counter name. Never silently zero. */
  readonly drops: Readonly<Record<string, number>>;
  readonly sample: number;
  readonly proxy: 'nginx' | 'node';
}

/** What the load generator saw for one request. */
export interface ClientObservation {
  readonly requestId: string;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** Wall-clock send time, ms since the epoch (fractional). */
  readonly startMs: number;
  /** Send to last byte, ms (fractional, sub-millisecond precision). */
  readonly latencyMs: number;
}

/** One nginx access-log line (lab/nginx/nginx.conf.template `log_format reqtrace`). */
export interface NginxAccessEntry {
  readonly requestId: string;
  readonly timeIso: string;
  readonly method: string;
  readonly uri: string;
  readonly status: number;
  /** Seconds, as nginx prints them; null where nginx printed '-'. */
  readonly requestTime: number | null;
  readonly upstreamConnectTime: number | null;
  readonly upstreamHeaderTime: number | null;
  readonly upstreamResponseTime: number | null;
  readonly upstreamAddr: string | null;
  readonly connection: number | null;
  readonly connectionRequests: number | null;
}

export interface Capture {
  readonly dir: string;
  readonly meta: CaptureMeta;
  readonly events: readonly TraceEvent[];
  readonly client: readonly ClientObservation[];
  readonly nginx: readonly NginxAccessEntry[];
  /** What could not be read (truncated records, bad lines), each one line. Never thrown. */
  readonly warnings: readonly string[];
}
