/**
 * A request its client gave up on: nginx logs 499 when the client closed the connection before
 * the response, and closes the upstream connection, which the app sees as its response's
 * 'close' (it fires RequestEnd with 499 then). The app's handler does not stop there: a sleep,
 * a running query, the queries after it go on. The request is over for its client at the abort,
 * so the root ends there; the app's work runs on past it, outside the root, as OpenTelemetry
 * lets a child outlive its parent:
 *
 *   root (aborted by the client)  |=============|
 *   nginx processing              |=|
 *   app processing                  |=========================|   (outlives the root)
 *     handler setup                 |===============|
 *     DB query 1 (after abort)                       |========|   (its true duration)
 *                                                 ^ abort      ^ the app's last event
 */
import type { NginxAccessEntry } from '../shared/capture-types.ts';
import { maxBig } from './event-time.ts';
import type { SpanDraft } from './span-draft.ts';

/** nginx's status for a request whose client closed the connection first. */
export const CLIENT_CLOSED_REQUEST = 499;

export interface AbortEvidence {
  /** The app's RequestEnd: 499 when its response was closed before it finished. */
  readonly reqEnd: { readonly status: number; readonly tsNs: bigint } | undefined;
  readonly access: Pick<NginxAccessEntry, 'status' | 'requestTime'> | undefined;
  /** When nginx began the request (its first client read), from its own events; undefined when unknown. */
  readonly nginxStartNs: bigint | undefined;
}

/**
 * When the client's abort ended the request, or undefined when it was not aborted (or there is
 * no time to put on it). The app's 499 RequestEnd is exact (the upstream connection closing,
 * right after nginx saw the client go); nginx's start plus its request_time (ms resolution)
 * stands in without it. Pure.
 */
export function clientAbortAt(e: AbortEvidence): bigint | undefined {
  if (e.reqEnd?.status === CLIENT_CLOSED_REQUEST) return e.reqEnd.tsNs;
  if (e.access?.status !== CLIENT_CLOSED_REQUEST || e.access.requestTime == null || e.nginxStartNs === undefined) return undefined;
  return e.nginxStartNs + BigInt(Math.round(e.access.requestTime * 1e9));
}

/** The end of the app's own work: its span or the last of its children, whichever is later. Pure. */
export function appWorkEnd(app: SpanDraft): bigint {
  return app.children.reduce((m, c) => maxBig(m, c.endNs), app.endNs);
}

const msText = (ns: bigint): string => `${(Number(ns) / 1e6).toFixed(1)}ms`;

/**
 * Ends `root` at the abort and marks what went on after it: each child of the root that ends
 * later outlives it (the app span, orphans), and each child of the app span that ends after the
 * abort is tagged `after_client_abort`. Edits the drafts, which the builder owns.
 */
export function markClientAbort(root: SpanDraft, app: SpanDraft, abortNs: bigint): void {
  const before = root.children.filter((c) => c !== app && c.endNs <= abortNs).reduce((m, c) => maxBig(m, c.endNs), root.startNs);
  const end = maxBig(maxBig(abortNs, before), root.startNs);
  root.tags['http.request.aborted'] = true;
  root.tags['http.request.abort_reason'] = 'the client closed the connection before the response (nginx 499)';
  const after = app.endNs > end ? app.endNs - end : 0n;
  if (end < root.endNs) root.endNs = end;
  for (const c of root.children) {
    if (c.endNs > root.endNs) c.outlivesParent = true;
  }
  const late = app.children.filter((c) => c.endNs > abortNs);
  for (const c of late) c.tags.after_client_abort = true;
  if (after > 0n) app.tags['app.after_client_abort_ns'] = Number(after);
  // Nothing came back through nginx because nobody was left to send it to.
  const kept = root.warnings.filter((w) => !w.startsWith("nginx's response-side events missing"));
  root.warnings.splice(0, root.warnings.length, ...kept);
  root.warnings.push(
    `aborted by the client after ${msText(end - root.startNs)} (nginx 499)${
      after > 0n ? `: the app went on for ${msText(after)} after it${late.length > 0 ? ` (${late.map((c) => c.name).join(', ')})` : ''}` : ''
    }`,
  );
}
