import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { IncomingHttpHeaders } from 'node:http';
import autocannon from 'autocannon';
import type { ClientObservation } from '../../shared/capture-types.ts';
import { latencyStats, type LatencyStats } from './latency-stats.ts';
import { MIX_TABLE, nextRequest, type LoadRequest, type MixName, type TargetKnobs, type TargetName } from './mixes.ts';
import { seededRandom } from '../seeded-random.ts';

export const MAX_DURATION_S = 3600;
export const DEFAULT_DURATION_S = 10;

export interface LoadOptions {
  /** Base URL of the proxy, e.g. http://127.0.0.1:18080. */
  readonly url: string;
  /** Seconds of load; exclusive with `requests`. Default DEFAULT_DURATION_S when neither is set. */
  readonly durationS?: number;
  readonly requests?: number;
  readonly connections: number;
  readonly mix: MixName;
  /** Cap on requests per second over all connections. */
  readonly rate?: number;
  /** JSON-lines file of ClientObservation, one per response. */
  readonly latencyOut: string;
  /** What latencyOut records of each request's path (default: the path as sent). */
  readonly recordPath?: (path: string) => string;
  /** Latency knobs added to some targets' requests (e.g. `{ users: 'db_delay_ms=10' }`). */
  readonly knobs?: TargetKnobs;
  /** Seed for the endpoint choice (default: random). Request ids are always random. */
  readonly seed?: number;
  readonly progress?: (line: string) => void;
  /** Called once a second with the responses so far (a bench samples its counters there). */
  readonly onSecond?: (responses: number) => void;
}

export interface TargetSummary {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
}

/** What `lab load` reports; latencies are ms from the per-response samples, not autocannon's histogram. */
export interface LoadSummary {
  readonly url: string;
  readonly mix: MixName;
  readonly connections: number;
  readonly durationS: number;
  /** Responses observed (each one is a line in latencyOut). */
  readonly responses: number;
  readonly requestsPerSecond: number;
  readonly latencyMs: LatencyStats;
  /** Connection errors and timeouts (requests without a response). */
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
  readonly statusCounts: Readonly<Record<string, number>>;
  readonly byTarget: Readonly<Partial<Record<TargetName, TargetSummary>>>;
  readonly latencyOut: string;
}

interface InFlight {
  readonly requestId: string;
  readonly request: LoadRequest;
}

/** Mutable per-connection slot autocannon hands to setupRequest/onResponse. */
interface ConnectionContext {
  current?: InFlight;
}

const freshId = (): string => randomBytes(16).toString('hex');

/**
 * Drives the mix through the proxy with autocannon. Each request carries a fresh 32-hex
 * X-Request-ID, and each response's latency (hrtime, sub-millisecond) is written to
 * `latencyOut` keyed by that id.
 */
export async function runLoad(opts: LoadOptions): Promise<LoadSummary> {
  if (opts.durationS !== undefined && opts.requests !== undefined) throw new Error('--duration and --requests are exclusive');
  const durationS = opts.requests === undefined ? (opts.durationS ?? DEFAULT_DURATION_S) : undefined;
  if (durationS !== undefined && !(durationS > 0 && durationS <= MAX_DURATION_S)) {
    throw new Error(`duration must be within (0, ${MAX_DURATION_S}] s, got ${durationS}`);
  }
  if (opts.requests !== undefined && !(Number.isInteger(opts.requests) && opts.requests >= 1)) {
    throw new Error(`requests must be a positive whole number, got ${opts.requests}`);
  }
  const mix = MIX_TABLE[opts.mix];
  if (!mix) throw new Error(`unknown mix '${opts.mix}'`);
  const rand = opts.seed === undefined ? Math.random : seededRandom(opts.seed);
  const say = opts.progress ?? (() => {});

  mkdirSync(dirname(opts.latencyOut), { recursive: true });
  const out = createWriteStream(opts.latencyOut, { flags: 'w' });
  let outError: Error | null = null;
  out.on('error', (err) => (outError = err));

  const samples: number[] = [];
  const byTarget = new Map<TargetName, number[]>();
  const statusCounts: Record<string, number> = {};
  let unmatched = 0;
  // autocannon calls onResponse and then emits 'response' for the same reply, synchronously and
  // back to back, so this slot carries the request identity from one to the other.
  let completed: InFlight | null = null;

  let finish: (err: unknown, result: autocannon.Result) => void = () => {};
  const finished = new Promise<autocannon.Result>((resolve, reject) => {
    finish = (err, result) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(result));
  });
  const instance = autocannon({
    url: opts.url,
    connections: opts.connections,
    ...(durationS !== undefined ? { duration: durationS } : { amount: opts.requests }),
    ...(opts.rate !== undefined ? { overallRate: opts.rate } : {}),
    timeout: 10,
    requests: [
      {
        setupRequest: (req, context) => {
          const ctx = context as ConnectionContext;
          const request = nextRequest(mix, rand, opts.knobs);
          const requestId = freshId();
          ctx.current = { requestId, request };
          const headers: IncomingHttpHeaders = { ...(req.headers ?? {}), 'x-request-id': requestId };
          if (request.body !== undefined) headers['content-type'] = 'application/json';
          return { ...req, method: request.method, path: request.path, headers, body: request.body ?? '' };
        },
        onResponse: (_status, _body, context) => {
          completed = (context as ConnectionContext).current ?? null;
        },
      },
    ],
  }, (err, result) => finish(err, result));

  instance.on('response', (_client, statusCode: number, _bytes: number, responseTimeMs: number) => {
    const done = completed;
    completed = null;
    if (done === null) {
      unmatched++;
      return;
    }
    samples.push(responseTimeMs);
    let t = byTarget.get(done.request.target);
    if (!t) byTarget.set(done.request.target, (t = []));
    t.push(responseTimeMs);
    statusCounts[statusCode] = (statusCounts[statusCode] ?? 0) + 1;
    const obs: ClientObservation = {
      requestId: done.requestId,
      method: done.request.method,
      path: opts.recordPath ? opts.recordPath(done.request.path) : done.request.path,
      status: statusCode,
      startMs: performance.timeOrigin + performance.now() - responseTimeMs,
      latencyMs: responseTimeMs,
    };
    out.write(JSON.stringify(obs) + '\n');
  });

  const t0 = performance.now();
  const ticker = setInterval(() => {
    const s = (performance.now() - t0) / 1000;
    say(`${s.toFixed(0)} s: ${samples.length} responses, ${(samples.length / s).toFixed(0)} req/s`);
    opts.onSecond?.(samples.length);
  }, 1000);
  // --requests has no time bound of its own in autocannon.
  const cap = setTimeout(() => {
    say(`stopping at the ${MAX_DURATION_S} s limit`);
    instance.stop();
  }, MAX_DURATION_S * 1000);

  let result: autocannon.Result;
  try {
    result = await finished;
  } finally {
    clearInterval(ticker);
    clearTimeout(cap);
    await new Promise<void>((resolve) => out.end(() => resolve()));
  }
  if (outError) throw new Error(`cannot write ${opts.latencyOut}: ${(outError as Error).message}`);
  if (unmatched > 0) throw new Error(`${unmatched} responses could not be matched to their request id`);

  const elapsedS = (performance.now() - t0) / 1000;
  const targets: Partial<Record<TargetName, TargetSummary>> = {};
  for (const [name, values] of byTarget) {
    const s = latencyStats(values);
    targets[name] = { count: s.count, p50: s.p50, p99: s.p99 };
  }
  const non2xx = Object.entries(statusCounts).reduce((n, [code, c]) => (code.startsWith('2') ? n : n + c), 0);
  return {
    url: opts.url,
    mix: opts.mix,
    connections: opts.connections,
    durationS: elapsedS,
    responses: samples.length,
    requestsPerSecond: samples.length / elapsedS,
    latencyMs: latencyStats(samples),
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx,
    statusCounts,
    byTarget: targets,
    latencyOut: opts.latencyOut,
  };
}
