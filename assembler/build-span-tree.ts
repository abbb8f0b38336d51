/**
 * Assembles one span tree per request from a capture:
 *
 *   GET /api/users                              (root: nginx's first byte in → last byte out)
 *   ├─ nginx processing                         client bytes readable → upstream write end
 *   ├─ network: nginx → app                     upstream write end → app starts reading
 *   ├─ app processing                           app's first read → RequestEnd / last write
 *   │  ├─ request read, handler setup, DB query k, file …, business logic,
 *   │  │  response serialization, response send
 *   ├─ network: app → nginx                     app's last write → nginx starts reading
 *   └─ nginx response                           nginx reads the response → last client write
 *
 * Everything is repaired rather than dropped: missing probes shrink or estimate spans with a
 * warning, events that fit nowhere become flagged `orphan` children of the root.
 *
 * Under head sampling (meta.sample < 1) the kernel follows only requests that tracer/sampling.ts
 * `isSampled` accepts; the rest left RequestStart/RequestEnd alone and get a minimal trace (the
 * app's handler time, nginx's share estimated from the access log), tagged `sampling.sampled`.
 * A request the tail rule kept (a RequestKept event: slow or 5xx, `lab trace --keep-slower-than`)
 * has the app's side in full, nginx estimated, and `sampling.kept` saying why.
 */
import type { Capture, ClientObservation, NginxAccessEntry } from '../tracer/capture-types.ts';
import type { EventTable } from '../tracer/event-table.ts';
import { EventKind, KeepReason } from '../tracer/event-types.ts';
import { isSampled } from '../tracer/sampling.ts';
import { attributeKernelWaits, type WaitAttribution } from './attribute-kernel-waits.ts';
import { attributeRunqDelay } from './attribute-runq-delay.ts';
import { tagXmits, xmitsIn } from './attribute-xmits.ts';
import { BACKEND_CONFIDENCE, markCorrelation, overlapCounts, sharedThreadConfidence, TUPLE_CONFIDENCE, type CorrelationMethod } from './correlation.ts';
import {
  assignPhases,
  BUFFER_WAIT_SPAN_NS,
  buildDbQuerySpan,
  nestPgPhases,
  pairDbQueries,
  syscallRunSpan,
  type PgPhaseEvent,
} from './build-db-spans.ts';
import { buildFileSpans } from './build-file-spans.ts';
import { connectionTiming, connectionWaits, indexConnections, type ConnectionIndex, type ConnectionTiming, type ConnSetupEvent } from './connection-setup.ts';
import { poolWaits, poolWaitSpan, type PoolWaitEvent } from './build-pool-spans.ts';
import { appWorkEnd, clientAbortAt, markClientAbort } from './client-abort.ts';
import { clientNeighbourBounds } from './client-connection-order.ts';
import { correlateNginx, type AppConnectionUse, type ClientConnection, type NginxLeg } from './correlate-nginx.ts';
import { deriveGaps, type Occupied } from './derive-gaps.ts';
import { eventStartNs, isSockIo, maxBig, minBig, peerTupleKey, tupleKey, type SockIo } from './event-time.ts';
import { indexCapture, type CaptureIndex, type RunqDelayEvent } from './index-capture.ts';
import { inboundConnectionLookup, type InboundUse } from './infer-inbound-connection.ts';
import { routeOf } from './route-of.ts';
import { shedFamilies, shedNotes, type ShedFamily } from './shed-families.ts';
import { buildAccessTrace } from './build-access-trace.ts';
import { rootOf, type AssembledCapture, type SpanLog, type TagValue, type Trace } from './span.ts';
import { inStartOrder, type OrderItem } from './in-start-order.ts';
import { draftSpan, finalizeOwnedTrace, type SpanDraft } from './span-draft.ts';
import { appFacts, requestFacts, type AppFacts, type RequestFacts, type RequestStart } from './app-facts.ts';

export interface AssembleOptions {
  /** Build only these requests (correlation still uses every event of the capture). */
  readonly requestIds?: ReadonlySet<string>;
}

const CONNECTION_KINDS: ReadonlySet<number> = new Set([EventKind.ConnSetup, EventKind.ConnAccept]);
const SHED_KINDS: ReadonlySet<number> = new Set([EventKind.TracerShed]);

interface BuildContext {
  readonly index: CaptureIndex;
  readonly legs: ReadonlyMap<string, NginxLeg>;
  readonly access: ReadonlyMap<string, NginxAccessEntry>;
  readonly client: ReadonlyMap<string, ClientObservation>;
  readonly proxy: 'nginx' | 'node';
  /** The head-sampling rate when below 1 (BPF captures): traces are tagged with it. */
  readonly sampleRate: number | undefined;
  /** Families the overhead guard detached, in time order. */
  readonly sheds: readonly ShedFamily[];
  /** Connection setups and accepts (the conn family), and the requests that opened their connection. */
  readonly connections: ConnectionIndex;
  readonly firstOnConnection: ReadonlySet<string>;
  /** Per request, how many other requests the app served while it was in flight. */
  readonly othersInFlight: ReadonlyMap<string, number>;
  /** The offcpu family ran: a thread's time off CPU is known, so its time on CPU is too. */
  readonly offcpuTraced: boolean;
}

export { routeOf } from './route-of.ts';

function applyRunq(span: SpanDraft, att: ReturnType<typeof attributeRunqDelay>, confidence: number): void {
  if (att.count === 0) return;
  span.tags['kernel.runq_delay_ns'] = Number(att.totalNs);
  span.tags['kernel.runq_delays'] = att.count;
  span.logs.push(...att.logs);
  markCorrelation(span, 'kernel.runq_delay', 'thread+time', confidence);
}

function applyWaits(span: SpanDraft, att: WaitAttribution, confidence: number): void {
  if (Object.keys(att.tags).length === 0) return;
  Object.assign(span.tags, att.tags);
  span.logs.push(...att.logs);
  markCorrelation(span, 'kernel.waits', 'thread+time', confidence);
}

/**
 * A single thread's time on CPU inside `span`, where the offcpu family saw its every sleep of
 * 50 µs or more: the span less its sleeps and run-queue waits (shorter sleeps count as on CPU).
 */
function applyOnCpu(span: SpanDraft, confidence: number): void {
  const off = Number(span.tags['kernel.offcpu_ns'] ?? 0) + Number(span.tags['kernel.runq_delay_ns'] ?? 0);
  span.tags['kernel.on_cpu_ns'] = Math.max(0, Number(span.endNs - span.startNs) - off);
  markCorrelation(span, 'kernel.waits', 'thread+time', confidence);
}

/** A network span between two tiers, with the wait in the receiver's socket buffer inside it. */
function networkSpan(name: string, startNs: bigint, endNs: bigint, firstRecv: SockIo | undefined, method: CorrelationMethod): SpanDraft {
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

interface TierSpans {
  readonly before: SpanDraft[];
  readonly after: SpanDraft[];
  readonly rootWarnings: string[];
  readonly clientKeys: string[];
  /** The setup of the client connection, when this request opened it. */
  connection?: ConnectionTiming;
}

/** nginx and network spans around the app, from nginx's syscalls or else from its access log. */
function proxySpans(f: RequestFacts, leg: NginxLeg | undefined, access: NginxAccessEntry | undefined, ctx: BuildContext): TierSpans {
  const before: SpanDraft[] = [];
  const after: SpanDraft[] = [];
  const rootWarnings: string[] = [];
  const clientKeys: string[] = [];
  const firstRecv = f.inboundRecvs[0];
  const runq = leg ? ctx.index.runqByPid.get(leg.pid) : undefined;
  const shared = sharedThreadConfidence(ctx.othersInFlight.get(f.requestId) ?? 0);
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
      const timing = connectionTiming(ctx.connections, clientRead, ctx.firstOnConnection.has(f.requestId));
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
    const estimate = estimatedNginxSpans(f.startNs, f.endNs, access.requestTime, ctx.sampleRate !== undefined ? ctx.client.get(f.requestId) : undefined);
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
function estimatedNginxSpans(
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

function orphanSpans(requestId: string, phases: readonly PgPhaseEvent[], sock: readonly SockIo[]): { spans: SpanDraft[]; count: number } {
  const spans: SpanDraft[] = [];
  const phasesByPid = new Map<number, PgPhaseEvent[]>();
  for (const p of phases) phasesByPid.set(p.pid, [...(phasesByPid.get(p.pid) ?? []), p]);
  for (const [pid, list] of phasesByPid) {
    const nested = nestPgPhases(list);
    const start = list.reduce((m, p) => minBig(m, eventStartNs(p)), eventStartNs(list[0] as PgPhaseEvent));
    const end = list.reduce((m, p) => maxBig(m, p.tsNs), start);
    spans.push(
      draftSpan(`orphan: PostgreSQL phases (pid ${pid})`, 'postgres', start, end, {
        tags: { orphan: true, 'orphan.events': list.length, 'process.pid': pid },
        logs: nested.logs,
        children: nested.spans,
        warnings: [`${list.length} PgPhase event(s) tagged ${requestId} lie inside no DB query of this request`],
      }),
    );
  }
  const sockByFd = new Map<string, SockIo[]>();
  for (const e of sock) sockByFd.set(`${e.pid}:${e.fd}`, [...(sockByFd.get(`${e.pid}:${e.fd}`) ?? []), e]);
  for (const [key, list] of sockByFd) {
    const first = list[0] as SockIo;
    const span = syscallRunSpan(`orphan: socket I/O (fd ${first.fd})`, list);
    span.tags.orphan = true;
    span.tags['orphan.events'] = list.length;
    span.tags['network.peer.address'] = first.tuple.remoteAddress;
    span.tags['network.peer.port'] = first.tuple.remotePort;
    span.warnings.push(`${list.length} socket event(s) on pid:fd ${key} tagged with this request fit no span`);
    spans.push(span);
  }
  return { spans, count: phases.length + sock.length };
}

function buildTrace(f: RequestFacts, ctx: BuildContext): Trace {
  const { events, pid } = f;
  const queries = pairDbQueries(events, f.endNs);
  const sockIo = events.filter((e): e is SockIo => isSockIo(e) && e.bytes > 0n);
  const used = new Set<SockIo>([...f.inboundRecvs, ...f.inboundSends]);
  const phases = events.filter((e): e is PgPhaseEvent => e.kind === EventKind.PgPhase);
  const phaseOwner = assignPhases(queries, phases);
  const pgKeys = new Map<string, SpanDraft>();

  const dbSpans = queries.map((q, k) => {
    const sock = sockIo.filter((e) => !used.has(e) && e.pid === q.pid && e.fd === q.fd && eventStartNs(e) >= q.startNs && e.tsNs <= q.endNs);
    sock.forEach((e) => used.add(e));
    const span = buildDbQuerySpan(k + 1, q, sock, phases.filter((_, i) => phaseOwner[i] === k));
    const db = span.children.find((c) => c.name === 'DB processing');
    const pgTuple = sock[0]?.tuple;
    if (pgTuple && ctx.index.xmitsByKey.size > 0) {
      // The query's packets leave from the app's socket, the result's from the backend's.
      const write = span.children.find((c) => c.name === 'query send')?.startNs ?? q.startNs;
      tagXmits(span, 'net.xmit.query', xmitsIn(ctx.index.xmitsByKey.get(tupleKey(pgTuple)), q.startNs, q.endNs), write);
      tagXmits(span, 'net.xmit.result', xmitsIn(ctx.index.xmitsByKey.get(peerTupleKey(pgTuple)), q.startNs, q.endNs), lastPhaseEnd(phases.filter((_, i) => phaseOwner[i] === k)) ?? db?.startNs ?? q.startNs);
    }
    // The backend: the one whose phases these are, else the process the sockets family saw
    // owning the other end of the app's pg connection.
    const backend = phases.find((_, i) => phaseOwner[i] === k)?.pid ?? (pgTuple ? ctx.index.socketOwnerByKey.get(peerTupleKey(pgTuple)) : undefined);
    if (db && backend !== undefined) {
      db.tags['process.pid'] ??= String(backend);
      const runq = ctx.index.runqByPid.get(backend);
      applyRunq(db, attributeRunqDelay(runq, ctx.index.maxRunqDelayNs, db.startNs, db.endNs), BACKEND_CONFIDENCE);
      applyWaits(db, attributeKernelWaits(ctx.index.waitsByPid.get(backend), ctx.index.maxWaitNs, undefined, db.startNs, db.endNs, runq), BACKEND_CONFIDENCE);
      if (ctx.offcpuTraced) applyOnCpu(db, BACKEND_CONFIDENCE);
    }
    const t = sock[0]?.tuple;
    if (t) {
      pgKeys.set(tupleKey(t), span);
      pgKeys.set(peerTupleKey(t), span);
    }
    return span;
  });
  const fileSpans = buildFileSpans(events, ctx.index.fileOpensByFd);

  const app = draftSpan('app processing', 'app', f.startNs, f.endNs, {
    tags: { 'process.pid': pid, 'thread.id': f.tid },
    warnings: [...f.warnings],
  });
  if (f.inboundTuple) {
    app.tags['network.peer.address'] = f.inboundTuple.remoteAddress;
    app.tags['network.peer.port'] = f.inboundTuple.remotePort;
    app.tags['server.port'] = f.inboundTuple.localPort;
  }
  if (f.reqEnd) app.tags['app.reported_duration_us'] = Number(f.reqEnd.durationUs);

  const occupied: Occupied[] = [];
  const headerReads = f.reqStart ? f.inboundRecvs.filter((e) => e.tsNs <= (f.reqStart as RequestStart).tsNs) : f.inboundRecvs;
  const bodyReads = f.inboundRecvs.filter((e) => !headerReads.includes(e));
  if (headerReads.length > 0) {
    const read = syscallRunSpan('request read', headerReads);
    const firstRead = headerReads[0] as SockIo;
    if (firstRead.arrivalNs > 0n && eventStartNs(firstRead) >= firstRead.arrivalNs) {
      read.tags['kernel.socket_buffer_wait_ns'] = Number(eventStartNs(firstRead) - firstRead.arrivalNs);
      markCorrelation(read, 'kernel.socket_buffer_wait', 'exact', 1);
    }
    app.children.push(read);
    occupied.push({ role: 'read', startNs: read.startNs, endNs: read.endNs });
  }
  if (bodyReads.length > 0) {
    const body = syscallRunSpan('request body read', bodyReads);
    app.children.push(body);
    occupied.push({ role: 'op', startNs: body.startNs, endNs: body.endNs });
  }
  for (const s of [...dbSpans, ...fileSpans]) {
    app.children.push(s);
    occupied.push({ role: 'op', startNs: s.startNs, endNs: s.endNs });
  }
  for (const w of poolWaits(events)) {
    const s = poolWaitSpan(w, w.newConnection ? poolConnect(w, sockIo, ctx.connections) : undefined);
    app.children.push(s);
    occupied.push({ role: 'wait', startNs: s.startNs, endNs: s.endNs });
  }
  if (f.inboundSends.length > 0) {
    const send = syscallRunSpan('response send', f.inboundSends);
    if (f.inboundTuple && ctx.index.xmitsByKey.size > 0) {
      tagXmits(send, 'net.xmit', xmitsIn(ctx.index.xmitsByKey.get(tupleKey(f.inboundTuple)), send.startNs, ctx.legs.get(f.requestId)?.upstreamReads.at(-1)?.tsNs ?? f.endNs), send.startNs);
    }
    app.children.push(send);
    occupied.push({ role: 'send', startNs: send.startNs, endNs: send.endNs });
  }
  const access = ctx.access.get(f.requestId);
  const client = ctx.client.get(f.requestId);
  const leg = ctx.legs.get(f.requestId);
  const proxy = proxySpans(f, leg, access, ctx);
  // The request is over for its client once nginx wrote the last byte. The app's RequestEnd can
  // fire later (Node runs 'finish' callbacks when its event loop gets to them): that tail is the
  // app's, not the request's, so it is a tag rather than time inside the trace.
  const delivered = proxy.after.find((s) => s.name === 'nginx response' && s.tags.estimated !== true && s.warnings.length === 0)?.endNs;
  let appEnd = f.endNs;
  // Without nginx's delivery, the app's last write is where the response left; a RequestEnd
  // later than the client's whole wait cannot be the request's time.
  const lastSendEnd = f.inboundSends.at(-1)?.tsNs;
  const cut =
    delivered ??
    (client && lastSendEnd !== undefined && f.endNs - f.startNs > BigInt(Math.round(client.latencyMs * 1e6)) ? lastSendEnd : undefined);
  if (cut !== undefined && cut > f.startNs && f.endNs > cut && occupied.every((o) => o.endNs <= cut)) {
    appEnd = cut;
    app.endNs = cut;
    app.tags['app.end_after_response_ns'] = Number(f.endNs - cut);
  }
  const abortNs = clientAbortAt({ reqEnd: f.reqEnd, access, nginxStartNs: proxy.before.find((b) => b.name === 'nginx processing' && b.tags.estimated !== true)?.startNs });
  if (abortNs !== undefined) {
    // The handler went on after its client left: the app span holds all of its work.
    appEnd = appWorkEnd(app);
    app.endNs = appEnd;
  }
  for (const g of deriveGaps(f.startNs, appEnd, occupied)) app.children.push(draftSpan(g.name, 'app', g.startNs, g.endNs));

  for (const e of events) {
    if (e.kind === EventKind.CacheHit || e.kind === EventKind.CacheMiss) {
      app.logs.push({ tsNs: e.tsNs, fields: { event: e.kind === EventKind.CacheHit ? 'cache hit' : 'cache miss', 'cache.key': e.key } });
    } else if (e.kind === EventKind.SockAccept || e.kind === EventKind.SockConnect || e.kind === EventKind.SockClose) {
      const what = e.kind === EventKind.SockAccept ? 'accept' : e.kind === EventKind.SockConnect ? 'connect' : 'close';
      app.logs.push({ tsNs: e.tsNs, fields: { event: `socket ${what}`, 'network.peer.address': e.tuple.remoteAddress, 'network.peer.port': e.tuple.remotePort, fd: e.fd } });
    } else if (e.kind === EventKind.ProcFork || e.kind === EventKind.ProcExit) {
      app.logs.push({ tsNs: e.tsNs, fields: { event: e.kind === EventKind.ProcFork ? 'fork' : 'exit', 'process.pid': e.childPid, 'process.command': e.comm } });
    }
  }
  const appRunq = ctx.index.runqByThread.get(`${pid}:${f.tid}`);
  const appShared = sharedThreadConfidence(ctx.othersInFlight.get(f.requestId) ?? 0);
  applyRunq(app, attributeRunqDelay(appRunq, ctx.index.maxRunqDelayNs, app.startNs, app.endNs), appShared);
  applyWaits(app, attributeKernelWaits(ctx.index.waitsByPid.get(pid), ctx.index.maxWaitNs, f.tid, app.startNs, app.endNs, appRunq), appShared);
  if (ctx.offcpuTraced) applyOnCpu(app, appShared);

  // The wait before the app's first read is shown once: on the network span when there is one.
  if (proxy.before.some((s) => s.name === 'network: nginx → app')) {
    const read = app.children.find((c) => c.name === 'request read');
    if (read) delete read.tags['kernel.socket_buffer_wait_ns'];
  }
  attributeReaderRunq([...proxy.before, app, ...proxy.after], {
    app: { runq: appRunq, confidence: appShared },
    ...(leg ? { nginx: { runq: ctx.index.runqByPid.get(leg.pid), confidence: appShared } } : {}),
    maxRunqDelayNs: ctx.index.maxRunqDelayNs,
  });
  const orphans = orphanSpans(
    f.requestId,
    phases.filter((_, i) => phaseOwner[i] === -1),
    sockIo.filter((e) => !used.has(e)),
  );

  const main = [...proxy.before, app, ...proxy.after];
  const rootStart = main.reduce((m, s) => minBig(m, s.startNs), app.startNs);
  const rootEnd = main.reduce((m, s) => maxBig(m, s.endNs), app.endNs);

  const { name, tags } = rootNameAndTags(f, access, client);
  if (orphans.count > 0) tags['orphan.count'] = orphans.count;
  const connLogs = proxy.connection ? connectionTags(proxy.connection, tags) : [];
  const kept = f.kept;
  if (ctx.sampleRate !== undefined) Object.assign(tags, { 'sampling.sampled': kept === undefined, 'sampling.rate': ctx.sampleRate });
  if (kept) Object.assign(tags, { 'sampling.kept': kept.reason === KeepReason.Error ? 'error' : 'slow', 'sampling.keep_threshold_ms': Number(kept.thresholdUs) / 1000 });

  const root = draftSpan(name, proxy.before.length > 0 || proxy.after.length > 0 ? 'nginx' : 'app', rootStart, rootEnd, {
    tags,
    // The tail rule keeps the app's side only: nginx estimated from its log is expected then.
    warnings: kept
      ? [...proxy.rootWarnings.filter((w) => !w.startsWith('nginx socket events missing')), ...(kept.complete ? [] : ["kept by the tail rule, but some of its records did not fit the loader's hold: spans may be missing"])]
      : proxy.rootWarnings,
    children: [...main, ...orphans.spans],
    logs: connLogs,
  });
  if (orphans.count > 0) root.warnings.push(`${orphans.count} event(s) fit no span: kept as orphan children of the root`);
  if (abortNs !== undefined) markClientAbort(root, app, abortNs);

  attachRetransmits(ctx.index, rootStart, rootEnd, [
    ...(f.inboundTuple ? [{ keys: [tupleKey(f.inboundTuple), peerTupleKey(f.inboundTuple)], targets: main.filter((s) => s !== main[0] || proxy.before.length === 0) }] : []),
    ...[...pgKeys].map(([key, span]) => ({ keys: [key], targets: [span, app] })),
    { keys: proxy.clientKeys, targets: [...proxy.before, ...proxy.after, root] },
  ], sockIo);
  markShed(root, ctx.sheds);
  return finalizeOwnedTrace(f.requestId, root);
}

/** Where the backend finished the statement (its last phase's end), the result's write soon after. */
function lastPhaseEnd(phases: readonly PgPhaseEvent[]): bigint | undefined {
  return phases.reduce<bigint | undefined>((m, p) => (m === undefined || p.tsNs > m ? p.tsNs : m), undefined);
}

interface Reader {
  readonly runq: readonly RunqDelayEvent[] | undefined;
  readonly confidence: number;
}

/**
 * Data waits in a socket buffer while its reader is busy, and one way of being busy is waiting
 * for a CPU. For each span with a socket-buffer wait, the reader's run-queue delays inside the
 * wait (the app thread for its reads, the nginx worker for nginx's) are tagged beside it as
 * `kernel.reader_runq_delay_ns`, so the wait can be told apart from a reader that was running
 * other work:
 *
 *   result receive   |~~~~~~ socket buffer wait ~~~~~~|read|
 *   app thread runq        [----]      [-------]             → reader_runq_delay_ns
 */
function attributeReaderRunq(roots: readonly SpanDraft[], r: { app: Reader; nginx?: Reader; maxRunqDelayNs: bigint }): void {
  const visit = (s: SpanDraft): void => {
    s.children.forEach(visit);
    const wait = s.tags['kernel.socket_buffer_wait_ns'];
    if (typeof wait !== 'number' || wait <= 0) return;
    const w = BigInt(wait);
    let reader: Reader | undefined;
    let from: bigint;
    if (s.name === 'result receive') {
      reader = r.app;
      from = s.startNs;
    } else if (s.name === 'request read') {
      reader = r.app;
      from = s.startNs - w;
    } else if (s.name === 'network: nginx → app') {
      reader = r.app;
      from = s.endNs - w;
    } else if (s.name === 'network: app → nginx') {
      reader = r.nginx;
      from = s.endNs - w;
    } else if (s.name === 'nginx processing') {
      reader = r.nginx;
      const child = s.children.find((c) => c.name === 'socket buffer wait');
      if (!child) return;
      from = child.startNs;
    } else {
      return;
    }
    if (!reader) return;
    const att = attributeRunqDelay(reader.runq, r.maxRunqDelayNs, from, from + w);
    if (att.count === 0) return;
    s.tags['kernel.reader_runq_delay_ns'] = Number(att.totalNs);
    markCorrelation(s, 'kernel.reader_runq_delay', 'thread+time', reader.confidence);
  };
  roots.forEach(visit);
}

/** The app's connect behind a pool checkout that opened a connection: by the 4-tuple of the I/O on its fd after it. */
function poolConnect(w: PoolWaitEvent, sockIo: readonly SockIo[], connections: ConnectionIndex): ConnSetupEvent | undefined {
  const io = sockIo.find((e) => e.pid === w.pid && e.fd === w.fd && e.tsNs >= w.tsNs);
  if (!io) return undefined;
  return (connections.connects.get(tupleKey(io.tuple)) ?? []).filter((c) => c.tsNs <= w.tsNs && eventStartNs(c) >= eventStartNs(w)).at(-1);
}

/** A new connection's setup as root tags (added to `tags`) and logs. */
function connectionTags(t: ConnectionTiming, tags: Record<string, TagValue>): SpanLog[] {
  const w = connectionWaits(t);
  tags['net.connection.new'] = true;
  if (w.handshakeNs !== undefined) tags['net.tcp.handshake_ns'] = Number(w.handshakeNs);
  if (t.rttUs > 0) tags['net.tcp.handshake_rtt_us'] = t.rttUs;
  tags['net.tcp.synack_retransmits'] = t.retransmits;
  tags['net.tcp.correlation'] = 'tuple';
  tags['net.tcp.confidence'] = TUPLE_CONFIDENCE;
  if (w.acceptQueueNs !== undefined) tags['net.tcp.accept_queue_ns'] = Number(w.acceptQueueNs);
  if (w.firstByteWaitNs !== undefined) tags['net.tcp.first_byte_wait_ns'] = Number(w.firstByteWaitNs);
  const logs: SpanLog[] = [];
  if (t.synNs !== undefined) logs.push({ tsNs: t.synNs, fields: { event: 'tcp SYN sent by the client' } });
  logs.push({ tsNs: t.establishedNs, fields: { event: 'tcp connection established (in the accept queue)' } });
  if (t.acceptedNs !== undefined) logs.push({ tsNs: t.acceptedNs, fields: { event: 'connection accepted' } });
  return logs;
}


/** A trace reaching past an overhead-guard shed says which families it lacks, and from when. */
function markShed(root: SpanDraft, sheds: readonly ShedFamily[]): void {
  const notes = shedNotes(sheds, root.startNs, root.endNs);
  if (notes.families.length === 0) return;
  root.tags['tracing.shed'] = notes.families.join(',');
  root.warnings.push(...notes.warnings);
}

/** The root's name (`GET /api/users/:id`) and its request-level tags. */
function rootNameAndTags(f: RequestFacts, access: NginxAccessEntry | undefined, client: ClientObservation | undefined): { name: string; tags: Record<string, TagValue> } {
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

/**
 * The trace of a request outside the sample: the kernel emitted only its RequestStart and
 * RequestEnd, so the app span is the handler's own time (RequestStart until the response was
 * handed to the socket, RequestEnd's duration) and nginx's share is estimated from the access log.
 * Missing kernel detail is expected here, so it is not warned about.
 */
function buildUnsampledTrace(f: RequestFacts, ctx: BuildContext, rate: number): Trace {
  const handedOff = f.reqStart && f.reqEnd ? f.reqStart.tsNs + f.reqEnd.durationUs * 1000n : undefined;
  const appEnd = handedOff !== undefined && handedOff < f.endNs ? maxBig(handedOff, f.startNs) : f.endNs;
  const app = draftSpan('app processing', 'app', f.startNs, appEnd, {
    tags: { 'process.pid': f.pid, 'thread.id': f.tid },
    warnings: [...f.warnings],
  });
  if (f.reqEnd) app.tags['app.reported_duration_us'] = Number(f.reqEnd.durationUs);
  if (f.endNs > appEnd) app.tags['app.end_after_response_ns'] = Number(f.endNs - appEnd);

  const access = ctx.access.get(f.requestId);
  const client = ctx.client.get(f.requestId);
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

/**
 * Logs each TCP retransmit on one of the request's connections, inside the request's time, on
 * the first target span that contains it (else the last target).
 */
function attachRetransmits(
  index: CaptureIndex,
  startNs: bigint,
  endNs: bigint,
  groups: readonly { keys: readonly string[]; targets: readonly SpanDraft[] }[],
  ownSends: readonly SockIo[],
): void {
  const seen = new Set<unknown>();
  for (const g of groups) {
    for (const key of g.keys) {
      for (const r of index.retransmitsByKey.get(key) ?? []) {
        if (seen.has(r) || r.tsNs < startNs || r.tsNs > endNs) continue;
        seen.add(r);
        const target = g.targets.find((s) => s.startNs <= r.tsNs && r.tsNs <= s.endNs) ?? g.targets.at(-1);
        if (!target) continue;
        target.tags['kernel.tcp_retransmits'] = Number(target.tags['kernel.tcp_retransmits'] ?? 0) + 1;
        const wait = retransmitWait(r.tsNs, key, maxBig(startNs, target.startNs), index, ownSends);
        if (wait > 0n) target.tags['kernel.tcp_retransmit_wait_ns'] = Number(target.tags['kernel.tcp_retransmit_wait_ns'] ?? 0) + Number(wait);
        markCorrelation(target, 'kernel.tcp_retransmits', 'tuple', TUPLE_CONFIDENCE);
        target.logs.push({
          tsNs: r.tsNs,
          fields: { event: 'tcp retransmit', 'network.local.port': r.tuple.localPort, 'network.peer.address': r.tuple.remoteAddress, 'network.peer.port': r.tuple.remotePort, 'tcp.state': r.state },
        });
      }
    }
  }
}

/**
 * What a retransmit cost: from the end of the last send on its connection before it (the
 * segment's first transmission, or near it) to the retransmit, not before `notBeforeNs`. 0 when no
 * send is known: the time cannot be told.
 */
function retransmitWait(atNs: bigint, key: string, notBeforeNs: bigint, index: CaptureIndex, ownSends: readonly SockIo[]): bigint {
  let last = -1n;
  const consider = (e: SockIo): void => {
    if (e.kind === EventKind.SockSend && e.tsNs <= atNs && e.tsNs > last && tupleKey(e.tuple) === key) last = e.tsNs;
  };
  ownSends.forEach(consider);
  (index.untaggedSockByKey.get(key) ?? []).forEach(consider);
  if (last < 0n) return 0n;
  return atNs - maxBig(last, notBeforeNs);
}

/**
 * The capture's head-sampling rate when it is below 1 and the kernel applied it (BPF captures;
 * the no-BPF mode records every request); undefined when every request was followed.
 */
function samplingRate(capture: Capture, warnings: string[]): number | undefined {
  const rate = capture.meta.sample;
  if (capture.meta.source !== 'bpf' || rate === 1) return undefined;
  if (!(rate > 0 && rate < 1)) {
    warnings.push(`meta.json sample ${rate} is not a rate 0 < RATE <= 1: every request is assembled as followed`);
    return undefined;
  }
  return rate;
}

/**
 * Unsampled requests as anchors on the app connection they used (inferred from the fd's other
 * evidence): nginx records the kernel let through for them fall on them rather than on the next
 * sampled request. Their app start stands for both start and send start: the response is sent
 * somewhere in between, and only the order against neighbours matters.
 */
function unsampledAnchors(sampled: readonly AppFacts[], unsampled: readonly AppFacts[], index: CaptureIndex): AppConnectionUse[] {
  const evidence: InboundUse[] = [];
  for (const f of sampled) if (f.inboundTuple && f.inboundFd >= 0) evidence.push({ pid: f.pid, fd: f.inboundFd, atNs: f.startNs, tuple: f.inboundTuple });
  const connectionAt = inboundConnectionLookup(index, evidence);
  const anchors: AppConnectionUse[] = [];
  for (const f of unsampled) {
    const t = f.inboundFd >= 0 ? connectionAt(f.pid, f.inboundFd, f.startNs) : undefined;
    if (!t) continue;
    anchors.push({ requestId: f.requestId, inboundKey: tupleKey(t), peerKey: peerTupleKey(t), appStartNs: f.startNs, appSendStartNs: f.startNs, sampled: false });
  }
  return anchors;
}

/**
 * The requests that opened their client connection: of the requests read on a connection after
 * its setup (same 4-tuple, latest setup before the read), the one read first. A port that comes
 * back for a later connection has a later setup, and its own first request.
 */
function firstRequestsOnConnections(legs: ReadonlyMap<string, NginxLeg>, connections: ConnectionIndex): Set<string> {
  const first = new Map<string, { id: string; at: bigint }>();
  for (const [id, leg] of legs) {
    const read = leg.clientReads[0];
    if (!read) continue;
    const key = tupleKey(read.tuple);
    const at = eventStartNs(read);
    const setup = (connections.setups.get(key) ?? []).filter((s) => s.tsNs <= at).at(-1);
    if (!setup) continue;
    const conn = `${key}@${setup.tsNs}`;
    const seen = first.get(conn);
    if (!seen || at < seen.at) first.set(conn, { id, at });
  }
  return new Set([...first.values()].map((v) => v.id));
}

function parseWallOffset(capture: Capture, warnings: string[]): bigint {
  try {
    return BigInt(capture.meta.clock.realtimeNs) - BigInt(capture.meta.clock.monotonicNs);
  } catch {
    warnings.push(`meta.json clock is not a pair of decimal ns values: wall times are monotonic times`);
    return 0n;
  }
}

/** A capture's traces as they are built: what `assembleCapture` returns, its traces not yet held. */
export interface TraceStream {
  /** Add to a CLOCK_MONOTONIC ns value to get wall-clock ns since the epoch. */
  readonly wallOffsetNs: bigint;
  /** Capture-wide problems (unreadable input, correlation gaps), one line each: complete before the first trace. */
  readonly warnings: readonly string[];
  /** One trace per request, in order of start (root start, then trace id), built as it is read. */
  readonly traces: Iterable<Trace>;
}

/*
 * How long after a trace's start the next bound must be before the trace is handed on
 * (assembler/in-start-order.ts): the bound reads what can start before a request's own events
 * (its nginx leg, the access-log estimate), the slack covers what it does not read (a query
 * result's arrival, which follows the query's send) and sets how many built traces wait.
 */
const ORDER_SLACK_NS = 50_000_000n;

/**
 * A time at or before the start of `f`'s trace: its events' starts and the arrivals its facts
 * read, its nginx leg's, and the earliest an estimate from the access log can put nginx before
 * the app. (A query result's arrival, not read here, follows the query's send.)
 */
function startBound(f: AppFacts, table: EventTable, leg: NginxLeg | undefined, access: NginxAccessEntry | undefined): bigint {
  let min = f.startNs;
  const consider = (ns: bigint): void => {
    if (ns > 0n && ns < min) min = ns;
  };
  for (const row of f.rows) consider(table.tsNsOf(row) - BigInt(table.lead[row]!));
  for (const e of leg ? [...leg.clientReads, ...leg.clientWrites, ...leg.upstreamWrites, ...leg.upstreamReads] : []) {
    consider(eventStartNs(e));
    consider(e.arrivalNs);
  }
  if (access?.requestTime != null) consider(f.startNs - BigInt(Math.ceil(access.requestTime * 1e9)) - 1_000_000n);
  return min;
}

/**
 * One trace per request id found in the capture's tagged events, in order of start, each built
 * when it is read: a consumer that does not keep them holds a few at a time. Pure: the capture
 * is not modified.
 */
export function assembleTraces(capture: Capture, options: AssembleOptions = {}): TraceStream {
  const warnings = [...capture.warnings];
  const index = indexCapture(capture.events, capture.meta.ports.proxy);
  const facts: AppFacts[] = [];
  for (const [id, events] of index.byRequest) facts.push(appFacts(id, events, index));
  const sampleRate = samplingRate(capture, warnings);
  // nginx's records exist for head-sampled requests; the app's also for those the tail rule kept.
  const headSampled = (f: AppFacts): boolean => sampleRate === undefined || isSampled(f.requestId, sampleRate);
  const followed = (f: AppFacts): boolean => headSampled(f) || f.kept !== undefined;

  const uses: AppConnectionUse[] = [];
  for (const f of facts) {
    if (!headSampled(f) || !f.inboundTuple) continue;
    uses.push({
      requestId: f.requestId,
      inboundKey: tupleKey(f.inboundTuple),
      peerKey: peerTupleKey(f.inboundTuple),
      appStartNs: f.startNs,
      appSendStartNs: f.sendStartNs,
    });
  }
  if (sampleRate !== undefined) uses.push(...unsampledAnchors(facts.filter(headSampled), facts.filter((f) => !headSampled(f)), index));
  const access = new Map<string, NginxAccessEntry>();
  const clients = new Map<string, ClientConnection>();
  const bounds = sampleRate !== undefined ? clientNeighbourBounds(capture.nginx, new Map(facts.map((f) => [f.requestId, f.startNs]))) : undefined;
  for (const a of capture.nginx) {
    if (access.has(a.requestId)) continue;
    access.set(a.requestId, a);
    if (a.remoteAddr != null && a.remotePort != null) {
      clients.set(a.requestId, { remoteAddr: a.remoteAddr, remotePort: a.remotePort, serverPort: a.serverPort ?? capture.meta.ports.proxy, ...bounds?.get(a.requestId) });
    }
  }
  const corr = correlateNginx(uses, index, clients);
  if (corr.unmatchedEvents > 0) warnings.push(`${corr.unmatchedEvents} nginx upstream socket event(s) on app connections matched no request`);
  if (corr.unsampledEvents > 0) warnings.push(`${corr.unsampledEvents} nginx upstream socket event(s) belong to unsampled requests (the kernel's filter let them through): not used`);
  if (corr.clientSideByTime > 0) {
    warnings.push(
      `${corr.clientSideByTime} request(s) have no client connection (remote_addr, remote_port) in the access log: nginx's client side matched by time on the worker, which can pick a neighbouring connection`,
    );
  }
  const client = new Map<string, ClientObservation>();
  for (const c of capture.client) if (!client.has(c.requestId)) client.set(c.requestId, c);

  const connections = indexConnections(index.table.eventsOfKinds(CONNECTION_KINDS));
  const inFlight = overlapCounts(facts.map((f) => ({ startNs: f.startNs, endNs: f.endNs })));
  const ctx: BuildContext = {
    index,
    legs: corr.legs,
    access,
    client,
    proxy: capture.meta.proxy,
    sampleRate,
    sheds: shedFamilies(index.table.eventsOfKinds(SHED_KINDS)),
    connections,
    firstOnConnection: firstRequestsOnConnections(corr.legs, connections),
    othersInFlight: new Map(facts.map((f, i) => [f.requestId, inFlight[i] ?? 0])),
    offcpuTraced: capture.meta.hooks.offcpu !== undefined,
  };
  const wanted = options.requestIds;
  const wallOffsetNs = parseWallOffset(capture, warnings);
  type Item = { readonly facts: AppFacts } | { readonly trace: Trace };
  const items: OrderItem<Item>[] = [];
  for (const f of facts) {
    if (wanted && !wanted.has(f.requestId)) continue;
    items.push({ item: { facts: f }, notAfterNs: startBound(f, index.table, corr.legs.get(f.requestId), access.get(f.requestId)) });
  }
  if (sampleRate !== undefined) {
    // Outside the sample the app fires no probe: such a request is only in nginx's log.
    for (const [id, entry] of access) {
      if (index.byRequest.has(id) || (wanted && !wanted.has(id))) continue;
      const t = buildAccessTrace(entry, client.get(id), wallOffsetNs, sampleRate);
      if (t) items.push({ item: { trace: t }, notAfterNs: rootOf(t).startNs });
    }
  }
  const build = (item: Item): Trace => {
    if ('trace' in item) return item.trace;
    const f = requestFacts(item.facts, index.table);
    return sampleRate === undefined || followed(f) ? buildTrace(f, ctx) : buildUnsampledTrace(f, ctx, sampleRate);
  };
  return { wallOffsetNs, warnings, traces: { [Symbol.iterator]: () => inStartOrder(items, build, ORDER_SLACK_NS) } };
}

/**
 * One trace per request id found in the capture's tagged events, in order of start. Pure: the
 * capture is not modified.
 */
export function assembleCapture(capture: Capture, options: AssembleOptions = {}): AssembledCapture {
  const { wallOffsetNs, warnings, traces } = assembleTraces(capture, options);
  return { traces: [...traces], wallOffsetNs, warnings };
}
