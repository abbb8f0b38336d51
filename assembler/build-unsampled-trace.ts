/** The minimal trace of a request outside the head sample: the app's own time, nginx estimated from its log. */
import { EventKind } from '../shared/event-types.ts';
import { maxBig } from './event-time.ts';
import type { Trace } from './span.ts';
import { draftSpan, finalizeOwnedTrace } from './span-draft.ts';
import type { RequestFacts } from './app-facts.ts';
import type { BuildContext, RequestContext } from './build-context.ts';
import { estimatedNginxSpans } from './proxy-spans.ts';
import { markShed, rootNameAndTags } from './trace-root.ts';

/**
 * The trace of a request outside the sample: the kernel emitted only its RequestStart and
 * RequestEnd, so the app span is the handler's own time (RequestStart until the response was
 * handed to the socket, RequestEnd's duration) and nginx's share is estimated from the access log.
 * Missing kernel detail is expected here, so it is not warned about.
 */
export function buildUnsampledTrace(f: RequestFacts, ctx: BuildContext, req: RequestContext, rate: number): Trace {
  const handedOff = f.reqStart && f.reqEnd ? f.reqStart.tsNs + f.reqEnd.durationUs * 1000n : undefined;
  const appEnd = handedOff !== undefined && handedOff < f.endNs ? maxBig(handedOff, f.startNs) : f.endNs;
  const app = draftSpan('app processing', 'app', f.startNs, appEnd, {
    tags: { 'process.pid': f.pid, 'thread.id': f.tid },
    warnings: [...f.warnings],
  });
  if (f.reqEnd) app.tags['app.reported_duration_us'] = Number(f.reqEnd.durationUs);
  if (f.endNs > appEnd) app.tags['app.end_after_response_ns'] = Number(f.endNs - appEnd);

  const { access, client } = req;
  const estimate = access?.requestTime != null ? estimatedNginxSpans(f.startNs, appEnd, access.requestTime, client) : undefined;
  const { name, tags } = rootNameAndTags(f, access, client);
  Object.assign(tags, { 'sampling.sampled': false, 'sampling.rate': rate });
  const main = estimate ? [estimate.before, app, estimate.after] : [app];
  const root = draftSpan(name, estimate ? 'nginx' : 'app', main[0]?.startNs ?? f.startNs, main.at(-1)?.endNs ?? appEnd, { tags, children: main });
  const kind = ctx.index.table.kind;
  const stray = f.rows.filter((row) => kind[row] !== EventKind.RequestStart && kind[row] !== EventKind.RequestEnd).length;
  if (stray > 0) root.warnings.push(`${stray} event(s) tagged with this unsampled request besides RequestStart/RequestEnd: not used`);
  markShed(root, ctx.sheds);
  return finalizeOwnedTrace(f.requestId, root);
}
