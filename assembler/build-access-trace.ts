/**
 * The trace of a request the kernel did not follow and the app's probes did not announce (outside
 * the head sample, the app fires none): nginx's access log is all there is. Its entry ends at
 * `msec` (wall time, ms), lasted `request_time`, of which `upstream_response_time` was the app's:
 *
 *   root                |=============== request_time ===============|  (ends at msec)
 *   nginx processing    |--|                                              (half of what nginx
 *   app processing         |======= upstream_response_time =======|        kept for itself,
 *   nginx response                                                 |--|   either side)
 *
 * Millisecond resolution, every span tagged `estimated`. Pure.
 */
import type { ClientObservation, NginxAccessEntry } from '../shared/capture-types.ts';
import { minBig } from './event-time.ts';
import { routeOf } from '../shared/routes.ts';
import type { Trace } from './span.ts';
import { draftSpan, finalizeOwnedTrace } from './span-draft.ts';

const MS = 1_000_000n;

/**
 * A trace from the access log alone, on the capture's monotonic clock (`wallOffsetNs` = wall −
 * monotonic); undefined when the entry has no end time or duration.
 */
export function buildAccessTrace(entry: NginxAccessEntry, client: ClientObservation | undefined, wallOffsetNs: bigint, rate: number): Trace | undefined {
  if (entry.msec == null || entry.requestTime == null) return undefined;
  const endNs = BigInt(Math.round(entry.msec)) * MS - wallOffsetNs;
  let totalNs = BigInt(Math.round(entry.requestTime * 1e9));
  // request_time is read off nginx's per-loop millisecond clock: the client's wait bounds it.
  if (client) totalNs = minBig(totalNs, BigInt(Math.round(client.latencyMs * 1e6)));
  const startNs = endNs - totalNs;
  const path = entry.uri.split('?')[0] ?? entry.uri;
  const route = routeOf(path);
  const tags = {
    'request.id': entry.requestId,
    'http.request.method': entry.method,
    'url.path': path,
    'http.route': route,
    'http.response.status_code': entry.status,
    'nginx.request_time_ms': entry.requestTime * 1000,
    'sampling.sampled': false,
    'sampling.rate': rate,
    'trace.source': 'nginx access log',
    ...(entry.upstreamResponseTime != null ? { 'nginx.upstream_response_time_ms': entry.upstreamResponseTime * 1000 } : {}),
    ...(client ? { 'client.latency_ms': client.latencyMs } : {}),
  };
  const root = draftSpan(`${entry.method} ${route}`, 'nginx', startNs, endNs, { tags });
  const upstream = entry.upstreamResponseTime == null ? undefined : minBig(BigInt(Math.round(entry.upstreamResponseTime * 1e9)), totalNs);
  if (upstream !== undefined && upstream > 0n) {
    const before = (totalNs - upstream) / 2n;
    const appStart = startNs + before;
    const estimated = { estimated: true };
    root.children.push(
      draftSpan('nginx processing', 'nginx', startNs, appStart, { tags: estimated }),
      draftSpan('app processing', 'app', appStart, appStart + upstream, { tags: estimated }),
      draftSpan('nginx response', 'nginx', appStart + upstream, endNs, { tags: estimated }),
    );
  }
  return finalizeOwnedTrace(entry.requestId, root);
}
