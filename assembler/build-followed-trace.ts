/**
 * The trace of a request the kernel followed: the app span with its reads, queries, file I/O,
 * pool waits, gaps and send, the proxy spans around it, orphans, retransmits and kernel waits.
 */
import type { ClientObservation, NginxAccessEntry } from '../shared/capture-types.ts';
import { EventKind, KeepReason, type TraceEvent } from '../shared/event-types.ts';
import { attributeKernelWaits } from './attribute-kernel-waits.ts';
import { attributeRunqDelay } from './attribute-runq-delay.ts';
import { tagXmits, xmitsIn } from './attribute-xmits.ts';
import { BACKEND_CONFIDENCE, markCorrelation, sharedThreadConfidence, TUPLE_CONFIDENCE } from './correlation.ts';
import { assignPhases, buildDbQuerySpan, pairDbQueries, syscallRunSpan, type DbQuery, type PgPhaseEvent } from './build-db-spans.ts';
import { buildFileSpans } from './build-file-spans.ts';
import { connectionWaits, type ConnectionIndex, type ConnectionTiming, type ConnSetupEvent } from './connection-setup.ts';
import { poolWaits, poolWaitSpan, type PoolWaitEvent } from './build-pool-spans.ts';
import { appWorkEnd, clientAbortAt, markClientAbort } from './client-abort.ts';
import { deriveGaps, type Occupied } from './derive-gaps.ts';
import { eventStartNs, isSockIo, maxBig, minBig, peerTupleKey, tupleKey, type SockIo } from './event-time.ts';
import type { SpanLog, TagValue, Trace } from './span.ts';
import { draftSpan, finalizeOwnedTrace, type SpanDraft } from './span-draft.ts';
import type { RequestFacts, RequestStart } from './app-facts.ts';
import type { BuildContext, RequestContext } from './build-context.ts';
import { applyOnCpu, applyRunq, applyWaits, attributeReaderRunq } from './apply-kernel-attribution.ts';
import { proxySpans, type TierSpans } from './proxy-spans.ts';
import { nginxLegOf } from './correlate-nginx.ts';
import { orphanSpans } from './orphan-spans.ts';
import { attachRetransmits } from './attach-retransmits.ts';
import { markShed, rootNameAndTags } from './trace-root.ts';

export function buildTrace(f: RequestFacts, ctx: BuildContext, req: RequestContext): Trace {
  const { events, pid } = f;
  const queries = pairDbQueries(events, f.endNs);
  const sockIo = events.filter((e): e is SockIo => isSockIo(e) && e.bytes > 0n);
  const used = new Set<SockIo>(f.inboundRecvs);
  for (const e of f.inboundSends) used.add(e);
  const phases = events.filter((e): e is PgPhaseEvent => e.kind === EventKind.PgPhase);
  const phaseOwner = assignPhases(queries, phases);
  const pgKeys = new Map<string, SpanDraft>();
  const dbSpans = queries.map((q, k) => querySpan(q, k, { ctx, sockIo, used, phases, phaseOwner, pgKeys }));
  const fileSpans = buildFileSpans(events, ctx.index.fileOpensByFd);

  const app = appDraft(f);
  const occupied = appOperations(f, app, dbSpans.concat(fileSpans), sockIo, ctx.connections);
  const leg = req.leg === undefined ? undefined : nginxLegOf(req.leg, ctx.index.table);
  if (f.inboundSends.length > 0) {
    const send = syscallRunSpan('response send', f.inboundSends);
    if (f.inboundTuple && ctx.index.xmitsByKey.size > 0) {
      tagXmits(send, 'net.xmit', xmitsIn(ctx.index.xmitsByKey.get(tupleKey(f.inboundTuple)), send.startNs, leg?.upstreamReads.at(-1)?.tsNs ?? f.endNs), send.startNs);
    }
    app.children.push(send);
    occupied.push({ role: 'send', startNs: send.startNs, endNs: send.endNs });
  }
  const { access, client } = req;
  const proxy = proxySpans(f, leg, req, ctx);
  const { appEnd, abortNs } = endApp(f, app, occupied, proxy, access, client);
  for (const g of deriveGaps(f.startNs, appEnd, occupied)) app.children.push(draftSpan(g.name, 'app', g.startNs, g.endNs));
  logAppEvents(app, events);

  const appRunq = ctx.index.runqByThread.get(`${pid}:${f.tid}`);
  const appShared = sharedThreadConfidence(req.othersInFlight);
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
  return finishTrace(f, ctx, { app, proxy, access, client, orphans, abortNs, pgKeys, sockIo });
}

/** What the query spans of one request share while they are built; `used` and `pgKeys` fill as they are. */
interface QueryInputs {
  readonly ctx: BuildContext;
  readonly sockIo: readonly SockIo[];
  /** Socket I/O some span already holds. */
  readonly used: Set<SockIo>;
  readonly phases: readonly PgPhaseEvent[];
  readonly phaseOwner: readonly number[];
  /** The query span behind each pg connection key (both directions). */
  readonly pgKeys: Map<string, SpanDraft>;
}

/** Query `k` (0-based) with its socket I/O, PostgreSQL phases, retransmits and the backend's kernel waits. */
function querySpan(q: DbQuery, k: number, { ctx, sockIo, used, phases, phaseOwner, pgKeys }: QueryInputs): SpanDraft {
  const sock = sockIo.filter((e) => !used.has(e) && e.pid === q.pid && e.fd === q.fd && eventStartNs(e) >= q.startNs && e.tsNs <= q.endNs);
  sock.forEach((e) => used.add(e));
  const own = phases.filter((_, i) => phaseOwner[i] === k);
  const span = buildDbQuerySpan(k + 1, q, sock, own);
  const db = span.children.find((c) => c.name === 'DB processing');
  const pgTuple = sock[0]?.tuple;
  if (pgTuple && ctx.index.xmitsByKey.size > 0) {
    // The query's packets leave from the app's socket, the result's from the backend's.
    const write = span.children.find((c) => c.name === 'query send')?.startNs ?? q.startNs;
    tagXmits(span, 'net.xmit.query', xmitsIn(ctx.index.xmitsByKey.get(tupleKey(pgTuple)), q.startNs, q.endNs), write);
    tagXmits(span, 'net.xmit.result', xmitsIn(ctx.index.xmitsByKey.get(peerTupleKey(pgTuple)), q.startNs, q.endNs), lastPhaseEnd(own) ?? db?.startNs ?? q.startNs);
  }
  // The backend: the one whose phases these are, else the process the sockets family saw
  // owning the other end of the app's pg connection.
  const backend = own[0]?.pid ?? (pgTuple ? ctx.index.socketOwnerByKey.get(peerTupleKey(pgTuple)) : undefined);
  if (db && backend !== undefined) {
    db.tags['process.pid'] ??= String(backend);
    const runq = ctx.index.runqByPid.get(backend);
    applyRunq(db, attributeRunqDelay(runq, ctx.index.maxRunqDelayNs, db.startNs, db.endNs), BACKEND_CONFIDENCE);
    applyWaits(db, attributeKernelWaits(ctx.index.waitsByPid.get(backend), ctx.index.maxWaitNs, undefined, db.startNs, db.endNs, runq), BACKEND_CONFIDENCE);
    if (ctx.offcpuTraced) applyOnCpu(db, BACKEND_CONFIDENCE);
  }
  if (pgTuple) {
    pgKeys.set(tupleKey(pgTuple), span);
    pgKeys.set(peerTupleKey(pgTuple), span);
  }
  return span;
}

/** The app span without children: the request's bounds, its process and inbound connection. */
function appDraft(f: RequestFacts): SpanDraft {
  const app = draftSpan('app processing', 'app', f.startNs, f.endNs, {
    tags: { 'process.pid': f.pid, 'thread.id': f.tid },
    warnings: f.warnings,
  });
  if (f.inboundTuple) {
    app.tags['network.peer.address'] = f.inboundTuple.remoteAddress;
    app.tags['network.peer.port'] = f.inboundTuple.remotePort;
    app.tags['server.port'] = f.inboundTuple.localPort;
  }
  if (f.reqEnd) app.tags['app.reported_duration_us'] = Number(f.reqEnd.durationUs);
  return app;
}

/**
 * Adds the request's reads, its query and file spans (`ops`) and its pool waits to `app`, in
 * that order; returns the time they occupy.
 */
function appOperations(f: RequestFacts, app: SpanDraft, ops: readonly SpanDraft[], sockIo: readonly SockIo[], connections: ConnectionIndex): Occupied[] {
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
  for (const s of ops) {
    app.children.push(s);
    occupied.push({ role: 'op', startNs: s.startNs, endNs: s.endNs });
  }
  for (const w of poolWaits(f.events)) {
    const s = poolWaitSpan(w, w.newConnection ? poolConnect(w, sockIo, connections) : undefined);
    app.children.push(s);
    occupied.push({ role: 'wait', startNs: s.startNs, endNs: s.endNs });
  }
  return occupied;
}

/**
 * Where the app span ends (set on `app`): cut at the response's delivery when the app's
 * RequestEnd came later, out to its work's end when its client left first (`abortNs`).
 */
function endApp(
  f: RequestFacts,
  app: SpanDraft,
  occupied: readonly Occupied[],
  proxy: TierSpans,
  access: NginxAccessEntry | undefined,
  client: ClientObservation | undefined,
): { appEnd: bigint; abortNs: bigint | undefined } {
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
  return { appEnd, abortNs };
}

/** The app's cache lookups, socket opens and closes, forks and exits as logs on `app`. */
function logAppEvents(app: SpanDraft, events: readonly TraceEvent[]): void {
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
}

/** The spans a request's root is made over. */
interface TraceParts {
  readonly app: SpanDraft;
  readonly proxy: TierSpans;
  readonly access: NginxAccessEntry | undefined;
  readonly client: ClientObservation | undefined;
  readonly orphans: { readonly count: number; readonly spans: readonly SpanDraft[] };
  readonly abortNs: bigint | undefined;
  readonly pgKeys: ReadonlyMap<string, SpanDraft>;
  readonly sockIo: readonly SockIo[];
}

/** The root over the proxy spans, the app span and orphans, with its tags and retransmits, finalized. */
function finishTrace(f: RequestFacts, ctx: BuildContext, { app, proxy, access, client, orphans, abortNs, pgKeys, sockIo }: TraceParts): Trace {
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
    ...Array.from(pgKeys, ([key, span]) => ({ keys: [key], targets: [span, app] })),
    { keys: proxy.clientKeys, targets: [...proxy.before, ...proxy.after, root] },
  ], sockIo);
  markShed(root, ctx.sheds);
  return finalizeOwnedTrace(f.requestId, root);
}

/** Where the backend finished the statement (its last phase's end), the result's write soon after. */
function lastPhaseEnd(phases: readonly PgPhaseEvent[]): bigint | undefined {
  return phases.reduce<bigint | undefined>((m, p) => (m === undefined || p.tsNs > m ? p.tsNs : m), undefined);
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
