import type { ClientObservation } from '../../shared/capture-types.ts';
import type { ProxyAccessEntry } from '../nginx/parse-access-log.ts';

const ms = (s: number | null): string => (s === null ? '-' : `${(s * 1000).toFixed(3)} ms`);

/**
 * One request's way through the tiers as the client and the proxy saw it: client latency,
 * the proxy's total, its upstream (app) times, and what is left for the proxy and the network.
 * `appLines` are the app's log lines that carry the request id.
 */
export function formatRequestJourney(client: ClientObservation, access: ProxyAccessEntry | null, appLines: readonly string[] = []): string {
  const lines = [
    `request ${client.requestId}: ${client.method} ${client.path} → ${client.status}`,
    `  client      ${client.latencyMs.toFixed(3)} ms (send to last byte)`,
  ];
  if (access === null) {
    lines.push('  proxy       not in the access log');
  } else {
    lines.push(
      `  proxy       ${ms(access.requestTime)} total, connection ${access.connection ?? '-'} request #${access.connectionRequests ?? '-'}`,
      `  upstream    connect ${ms(access.upstreamConnectTime)}, header ${ms(access.upstreamHeaderTime)}, response ${ms(access.upstreamResponseTime)} (${access.upstreamAddr ?? 'no upstream'})`,
    );
    if (access.requestTime !== null && access.upstreamResponseTime !== null) {
      lines.push(`  proxy only  ${ms(Math.max(0, access.requestTime - access.upstreamResponseTime))} (total minus upstream)`);
      lines.push(`  outside     ${Math.max(0, client.latencyMs - access.requestTime * 1000).toFixed(3)} ms (client minus proxy: loopback network and client)`);
    }
  }
  for (const l of appLines) lines.push(`  app         ${appLogSummary(l)}`);
  return lines.join('\n');
}

/** The observation nearest the median latency: a typical request to show. */
export function typicalObservation(observations: readonly ClientObservation[]): ClientObservation | null {
  if (observations.length === 0) return null;
  const sorted = [...observations].sort((a, b) => a.latencyMs - b.latencyMs);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? null;
}

/** The app's per-request log line in a few words; other lines are shown as they are. */
export function appLogSummary(line: string): string {
  let r: Record<string, unknown>;
  try {
    r = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (r.msg !== 'request' || typeof r.duration_us !== 'number') return line;
  const parts = [`handler ${(r.duration_us / 1000).toFixed(3)} ms`];
  if (typeof r.db_round_trips === 'number') {
    parts.push(`${r.db_round_trips} db round trip${r.db_round_trips === 1 ? '' : 's'}${typeof r.db_us === 'number' ? ` (${(r.db_us / 1000).toFixed(3)} ms)` : ''}`);
  }
  if (typeof r.file_opens === 'number' && r.file_opens > 0) parts.push(`${r.file_opens} file${r.file_opens === 1 ? '' : 's'} opened`);
  if (typeof r.cache === 'string') parts.push(`cache ${r.cache}`);
  if (typeof r.route === 'string') parts.push(`route ${r.route}`);
  return parts.join(', ');
}
