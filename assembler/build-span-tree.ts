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
 * Under head sampling (meta.sample < 1) the kernel follows only requests that shared/sampling.ts
 * `isSampled` accepts; the rest left RequestStart/RequestEnd alone and get a minimal trace (the
 * app's handler time, nginx's share estimated from the access log), tagged `sampling.sampled`.
 * A request the tail rule kept (a RequestKept event: slow or 5xx, `lab trace --keep-slower-than`)
 * has the app's side in full, nginx estimated, and `sampling.kept` saying why.
 */
import type { Capture, ClientObservation, NginxAccessEntry } from '../shared/capture-types.ts';
import type { EventTable } from '../tracer/event-table.ts';
import { EventKind, type Tuple } from '../shared/event-types.ts';
import { isSampled } from '../shared/sampling.ts';
import { overlapCounts } from './correlation.ts';
import { indexConnections, type ConnectionIndex } from './connection-setup.ts';
import { clientNeighbourBounds } from './client-connection-order.ts';
import { correlateNginx, type AppConnectionUse, type ClientConnection, type NginxLegRows } from './correlate-nginx.ts';
import { peerTupleKey, tupleKey } from './event-time.ts';
import { indexCapture, type CaptureIndex } from './index-capture.ts';
import { inboundConnectionLookup, type InboundUse } from './infer-inbound-connection.ts';
import { shedFamilies } from './shed-families.ts';
import { buildAccessTrace } from './build-access-trace.ts';
import { rootOf, type AssembledCapture, type Trace } from './span.ts';
import { inStartOrder, type OrderItem } from './in-start-order.ts';
import { requestFacts, type AppFacts } from './app-facts.ts';
import { minPositiveRowStart } from './row-time.ts';
import { FactsTable } from './facts-table.ts';
import { PositionMap, type Positions } from './position-map.ts';
import type { BuildContext, RequestContext } from './build-context.ts';
import { buildTrace } from './build-followed-trace.ts';
import { buildUnsampledTrace } from './build-unsampled-trace.ts';

export interface AssembleOptions {
  /** Build only these requests (correlation still uses every event of the capture). */
  readonly requestIds?: ReadonlySet<string>;
}

const CONNECTION_KINDS: ReadonlySet<number> = new Set([EventKind.ConnSetup, EventKind.ConnAccept]);
const SHED_KINDS: ReadonlySet<number> = new Set([EventKind.TracerShed]);


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
function firstRequestsOnConnections(legs: ReadonlyMap<string, NginxLegRows>, table: EventTable, connections: ConnectionIndex): Set<string> {
  const first = new Map<string, { id: string; at: bigint }>();
  for (const [id, leg] of legs) {
    const readRow = leg.clientReads[0];
    if (readRow === undefined) continue;
    const key = tupleKey(table.tupleOf(readRow)!);
    const at = table.startNsOf(readRow);
    const setup = (connections.setups.get(key) ?? []).filter((s) => s.tsNs <= at).at(-1);
    if (!setup) continue;
    const conn = `${key}@${setup.tsNs}`;
    const seen = first.get(conn);
    if (!seen || at < seen.at) first.set(conn, { id, at });
  }
  return new Set([...first.values()].map((v) => v.id));
}

/** The values of `map` by the position of their id in `positions` (undefined where it has none). */
function byPosition<V>(map: ReadonlyMap<string, V>, positions: Positions): (V | undefined)[] {
  const out = new Array<V | undefined>(positions.ids.length).fill(undefined);
  for (const [id, value] of map) {
    const i = positions.of.get(id);
    if (i !== undefined) out[i] = value;
  }
  return out;
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
function startBound(facts: FactsTable, i: number, table: EventTable, leg: NginxLegRows | undefined, access: NginxAccessEntry | undefined): bigint {
  const startNs = facts.startNs(i);
  let min = minPositiveRowStart(table, facts.requests.rows, i, startNs);
  if (leg !== undefined) {
    for (const rows of [leg.clientReads, leg.clientWrites, leg.upstreamWrites, leg.upstreamReads]) {
      for (const row of rows) {
        const start = table.startNsOf(row);
        if (start > 0n && start < min) min = start;
        const arrival = table.arrivalNsOf(row);
        if (arrival > 0n && arrival < min) min = arrival;
      }
    }
  }
  if (access?.requestTime != null) {
    const ns = startNs - BigInt(Math.ceil(access.requestTime * 1e9)) - 1_000_000n;
    if (ns > 0n && ns < min) min = ns;
  }
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
  const facts = new FactsTable(index);
  const sampleRate = samplingRate(capture, warnings);
  // nginx's records exist for head-sampled requests; the app's also for those the tail rule kept.
  const headSampled = (requestId: string): boolean => sampleRate === undefined || isSampled(requestId, sampleRate);
  const followed = (f: AppFacts): boolean => headSampled(f.requestId) || f.kept !== undefined;

  const uses: AppConnectionUse[] = [];
  // Requests on one connection share its tuple: its two keys are made once.
  const keysOf = new Map<Tuple, { inboundKey: string; peerKey: string }>();
  for (let i = 0; i < facts.length; i++) {
    const requestId = facts.requestId(i);
    const inboundTuple = facts.inboundTuple(i);
    if (!headSampled(requestId) || !inboundTuple) continue;
    let keys = keysOf.get(inboundTuple);
    if (keys === undefined) keysOf.set(inboundTuple, (keys = { inboundKey: tupleKey(inboundTuple), peerKey: peerTupleKey(inboundTuple) }));
    uses.push({
      requestId,
      inboundKey: keys.inboundKey,
      peerKey: keys.peerKey,
      appStartNs: facts.startNs(i),
      appSendStartNs: facts.sendStartNs(i),
    });
  }
  if (sampleRate !== undefined) {
    const all = Array.from({ length: facts.length }, (_, i) => facts.at(i));
    uses.push(...unsampledAnchors(all.filter((f) => headSampled(f.requestId)), all.filter((f) => !headSampled(f.requestId)), index));
  }
  const access = new Map<string, NginxAccessEntry>();
  const clients = new Map<string, ClientConnection>();
  const bounds =
    sampleRate !== undefined
      ? clientNeighbourBounds(capture.nginx, new Map(Array.from({ length: facts.length }, (_, i) => [facts.requestId(i), facts.startNs(i)])))
      : undefined;
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
  const legs = corr.legs;
  const client = new Map<string, ClientObservation>();
  for (const c of capture.client) if (!client.has(c.requestId)) client.set(c.requestId, c);

  const connections = indexConnections(index.table.eventsOfKinds(CONNECTION_KINDS));
  const inFlight = Int32Array.from(overlapCounts(Array.from({ length: facts.length }, (_, i) => ({ startNs: facts.startNs(i), endNs: facts.endNs(i) }))));
  const ctx: BuildContext = {
    index,
    proxy: capture.meta.proxy,
    sampleRate,
    sheds: shedFamilies(index.table.eventsOfKinds(SHED_KINDS)),
    connections,
    offcpuTraced: capture.meta.hooks.offcpu !== undefined,
  };
  const positions = facts.requests.positions;
  const legAt =
    legs instanceof PositionMap && legs.positions === positions ? (i: number) => legs.at(i) : (i: number) => legs.get(positions.ids[i]!);
  const accessAt = byPosition(access, positions);
  const clientAt = byPosition(client, positions);
  const opened = new Uint8Array(facts.length);
  for (const id of firstRequestsOnConnections(legs, index.table, connections)) {
    const i = positions.of.get(id);
    if (i !== undefined) opened[i] = 1;
  }
  const requestContext = (i: number): RequestContext => ({
    leg: legAt(i),
    access: accessAt[i],
    client: clientAt[i],
    othersInFlight: inFlight[i]!,
    openedConnection: opened[i] === 1,
  });
  const wanted = options.requestIds;
  const wallOffsetNs = parseWallOffset(capture, warnings);
  /** A request's position in `facts`, or its trace from the access log alone. */
  type Item = number | { readonly trace: Trace };
  const items: OrderItem<Item>[] = [];
  for (let i = 0; i < facts.length; i++) {
    const requestId = facts.requestId(i);
    if (wanted && !wanted.has(requestId)) continue;
    items.push({ item: i, notAfterNs: startBound(facts, i, index.table, legAt(i), accessAt[i]) });
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
    if (typeof item !== 'number') return item.trace;
    const f = requestFacts(facts.at(item), index.table);
    const req = requestContext(item);
    return sampleRate === undefined || followed(f) ? buildTrace(f, ctx, req) : buildUnsampledTrace(f, ctx, req, sampleRate);
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
