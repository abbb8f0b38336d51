/**
 * The spans around the app: nginx's processing and response, the network between the tiers,
 * from nginx's socket records, or else estimated from its access log.
 */
import type { ClientObservation } from '../shared/capture-types.ts';
import { attributeRunqDelay } from './attribute-runq-delay.ts';
import { markCorrelation, sharedThreadConfidence, TUPLE_CONFIDENCE, type CorrelationMethod } from './correlation.ts';
import { BUFFER_WAIT_SPAN_NS } from './build-db-spans.ts';
import { connectionTiming, type ConnectionTiming } from './connection-setup.ts';
import type { NginxLeg } from './correlate-nginx.ts';
import { eventStartNs, maxBig, minBig, peerTupleKey, tupleKey, type SockIo } from './event-time.ts';
import { draftSpan, type SpanDraft } from './span-draft.ts';
import type { RequestFacts } from './app-facts.ts';
import type { BuildContext, RequestContext } from './build-context.ts';
import { applyRunq } from './apply-kernel-attribution.ts';

/** A network span between two tiers, with the wait in the receiver's socket buffer inside it. */
export function networkSpan(name: string, startNs: bigint, endNs: bigint, firstRecv: SockIo | undefined, method: CorrelationMethod): SpanDraft {
  const span = draftSpan(name, 'kernel', startNs, maxBig(startNs, endNs));
  if (firstRecv && firstRecv.arrivalNs > 0n) {
    const readStart = eventStartNs(firstRecv);
    const wait = readStart - firstRecv.arrivalNs;
    if (wait >= 0n) {
      span.tags['kernel.socket_buffer_wait_ns'] = Number(wait);
      markCorrelation(span, 'kernel.socket_buffer_wait', method, TUPLE_CONFIDENCE);
      const waitStart = maxBig(firstRecv.arrivalNs, startNs);
      if (readStart - waitStart >= BUFFER_WAIT_SPAN_NS) span.children.push(draftSpan('socket buffer wait', 'kernel', waitStart, readStart));
    }
  }
  return span;
}

export interface TierSpans {
  readonly before: SpanDraft[];
  readonly after: SpanDraft[];
  readonly rootWarnings: string[];
  readonly clientKeys: string[];
  /** The setup of the client connection, when this request opened it. */
  connection?: ConnectionTiming;
}

/** nginx and network spans around the app, from nginx's syscalls or else from its access log. */
export function proxySpans(f: RequestFacts, leg: NginxLeg | undefined, req: RequestContext, ctx: BuildContext): TierSpans {
  const access = req.access;
  const before: SpanDraft[] = [];
  const after: SpanDraft[] = [];
  const rootWarnings: string[] = [];
  const clientKeys: string[] = [];
  const firstRecv = f.inboundRecvs[0];
  const runq = leg ? ctx.index.runqByPid.get(leg.pid) : undefined;
  const shared = sharedThreadConfidence(req.othersInFlight);
  let connection: ConnectionTiming | undefined;

  const lastWrite = leg?.upstreamWrites.at(-1);
  if (leg && lastWrite) {
    const clientRead = leg.clientReads[0];
    const firstWrite = leg.upstreamWrites[0] as SockIo;
    let start = eventStartNs(firstWrite);
    const proc = draftSpan('nginx processing', 'nginx', start, lastWrite.tsNs, {
      tags: { 'process.pid': leg.pid, 'nginx.upstream_write_bytes': Number(leg.upstreamWrites.reduce((s, e) => s + e.bytes, 0n)) },
    });
    if (clientRead) {
      const readStart = eventStartNs(clientRead);
      start = clientRead.arrivalNs > 0n && clientRead.arrivalNs <= readStart ? clientRead.arrivalNs : readStart;
      proc.startNs = start;
      proc.tags['network.peer.address'] = clientRead.tuple.remoteAddress;
      proc.tags['network.peer.port'] = clientRead.tuple.remotePort;
      clientKeys.push(tupleKey(clientRead.tuple), peerTupleKey(clientRead.tuple));
      const timing = connectionTiming(ctx.connections, clientRead, req.openedConnection);
      if (timing) connection = timing;
      if (clientRead.arrivalNs > 0n && readStart >= clientRead.arrivalNs) {
        // Bytes that came before the accept waited in the accept queue until it, then in the socket.
        const accepted = timing?.acceptedNs;
        const queuedUntil = accepted !== undefined && accepted > clientRead.arrivalNs ? minBig(accepted, readStart) : clientRead.arrivalNs;
        if (queuedUntil > clientRead.arrivalNs) {
          proc.tags['net.tcp.accept_queue_wait_ns'] = Number(queuedUntil - clientRead.arrivalNs);
          if (queuedUntil - clientRead.arrivalNs >= BUFFER_WAIT_SPAN_NS) proc.children.push(draftSpan('accept queue wait', 'kernel', clientRead.arrivalNs, queuedUntil));
          markCorrelation(proc, 'net.tcp.accept_queue_wait', 'tuple', TUPLE_CONFIDENCE);
        }
        proc.tags['kernel.socket_buffer_wait_ns'] = Number(readStart - queuedUntil);
        markCorrelation(proc, 'kernel.socket_buffer_wait', 'tuple', TUPLE_CONFIDENCE);
        if (readStart - queuedUntil >= BUFFER_WAIT_SPAN_NS) proc.children.push(draftSpan('socket buffer wait', 'kernel', queuedUntil, readStart));
      }
    } else {
      proc.warnings.push("nginx's client-side read not found: starts at the upstream write");
    }
    applyRunq(proc, attributeRunqDelay(runq, ctx.index.maxRunqDelayNs, proc.startNs, proc.endNs), shared);
    before.push(proc, networkSpan('network: nginx → app', lastWrite.tsNs, f.startNs, firstRecv, 'exact'));
  }
  const firstRead = leg?.upstreamReads[0];
  if (leg && firstRead) {
    const appSendEnd = f.inboundSends.at(-1)?.tsNs ?? f.endNs;
    const readStart = eventStartNs(firstRead);
    after.push(networkSpan('network: app → nginx', appSendEnd, readStart, firstRead, 'tuple'));
    const lastClientWrite = leg.clientWrites.at(-1);
    const resp = draftSpan('nginx response', 'nginx', readStart, lastClientWrite?.tsNs ?? (leg.upstreamReads.at(-1) as SockIo).tsNs, {
      tags: {
        'process.pid': leg.pid,
        'nginx.upstream_read_bytes': Number(leg.upstreamReads.reduce((s, e) => s + e.bytes, 0n)),
        'nginx.client_write_bytes': Number(leg.clientWrites.reduce((s, e) => s + e.bytes, 0n)),
      },
    });
    if (!lastClientWrite) resp.warnings.push("nginx's client-side write not found: ends at the last upstream read");
    applyRunq(resp, attributeRunqDelay(runq, ctx.index.maxRunqDelayNs, resp.startNs, resp.endNs), shared);
    after.push(resp);
  }
  if (before.length > 0 && after.length > 0) return { before, after, rootWarnings, clientKeys, ...(connection ? { connection } : {}) };

  const missing = before.length === 0 && after.length === 0 ? 'nginx socket events missing' : before.length === 0 ? "nginx's request-side events missing" : "nginx's response-side events missing";
  if (access?.requestTime != null && before.length === 0 && after.length === 0) {
    const estimate = estimatedNginxSpans(f.startNs, f.endNs, access.requestTime, ctx.sampleRate !== undefined ? req.client : undefined);
    if (estimate) {
      before.push(estimate.before);
      after.push(estimate.after);
      rootWarnings.push(`${missing}: nginx spans estimated from the access log's request_time (ms resolution), split evenly before and after the app`);
    } else {
      rootWarnings.push(`${missing}: the access log's request_time (${access.requestTime}s) is not longer than the app span, so no nginx spans`);
    }
  } else if (ctx.proxy === 'node' && !leg) {
    rootWarnings.push('the proxy tier is the Node fallback: no proxy spans');
  } else {
    rootWarnings.push(`${missing}${access ? '' : ' and no access-log entry'}: the trace ${before.length === 0 ? 'starts' : 'ends'} at the app`);
  }
  return { before, after, rootWarnings, clientKeys };
}

/**
 * nginx's share of a request the kernel did not follow, from the access log: request_time
 * (nginx's first read to last write, ms resolution) minus the app's span, split evenly before and
 * after the app. With `client`, the total is bounded by what the client saw: request_time, read
 * off nginx's per-event-loop ms clock, can overstate by a millisecond. Undefined when nothing is
 * left for nginx.
 */
export function estimatedNginxSpans(
  appStartNs: bigint,
  appEndNs: bigint,
  requestTimeS: number,
  client: ClientObservation | undefined,
): { before: SpanDraft; after: SpanDraft } | undefined {
  let totalNs = BigInt(Math.round(requestTimeS * 1e9));
  if (client) totalNs = minBig(totalNs, BigInt(Math.round(client.latencyMs * 1e6)));
  const overhead = totalNs - (appEndNs - appStartNs);
  if (overhead <= 0n) return undefined;
  const half = overhead / 2n;
  const tags = { estimated: true, 'nginx.request_time_ms': requestTimeS * 1000 };
  return {
    before: draftSpan('nginx processing', 'nginx', appStartNs - half, appStartNs, { tags }),
    after: draftSpan('nginx response', 'nginx', appEndNs, appEndNs + (overhead - half), { tags }),
  };
}
