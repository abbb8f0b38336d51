/** A trace root's name and request-level tags, and the note of families shed while it ran. */
import type { ClientObservation, NginxAccessEntry } from '../shared/capture-types.ts';
import { routeOf } from '../shared/routes.ts';
import { shedNotes, type ShedFamily } from './shed-families.ts';
import type { TagValue } from './span.ts';
import type { SpanDraft } from './span-draft.ts';
import type { RequestFacts } from './app-facts.ts';

/** A trace reaching past an overhead-guard shed says which families it lacks, and from when. */
export function markShed(root: SpanDraft, sheds: readonly ShedFamily[]): void {
  const notes = shedNotes(sheds, root.startNs, root.endNs);
  if (notes.families.length === 0) return;
  root.tags['tracing.shed'] = notes.families.join(',');
  root.warnings.push(...notes.warnings);
}

/** The root's name (`GET /api/users/:id`) and its request-level tags. */
export function rootNameAndTags(f: RequestFacts, access: NginxAccessEntry | undefined, client: ClientObservation | undefined): { name: string; tags: Record<string, TagValue> } {
  // Outside the sample the kernel keeps no method or path: they come from nginx or the client.
  const method = f.reqStart?.method || access?.method || client?.method || 'UNKNOWN';
  const path = f.reqStart?.path || access?.uri || client?.path || '/';
  const urlPath = path.split('?')[0] ?? path;
  const route = routeOf(path);
  const tags: Record<string, TagValue> = {
    'request.id': f.requestId,
    'http.request.method': method,
    'url.path': urlPath,
    'http.route': route,
  };
  const status = f.reqEnd?.status ?? access?.status ?? client?.status;
  if (status !== undefined) tags['http.response.status_code'] = status;
  if (client) tags['client.latency_ms'] = client.latencyMs;
  if (access?.requestTime != null) tags['nginx.request_time_ms'] = access.requestTime * 1000;
  if (access?.upstreamResponseTime != null) tags['nginx.upstream_response_time_ms'] = access.upstreamResponseTime * 1000;
  return { name: `${method} ${route}`, tags };
}
