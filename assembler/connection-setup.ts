/**
 * How a request's client connection was set up, when the request was the first on it (the conn
 * family's records, joined to nginx's client side by 4-tuple):
 *
 *   client SYN ─ handshake ─ established ─ accept queue ─ accepted ─ first-byte wait ─ bytes readable ─ read
 *   (synNs)                 (ConnSetup)                 (ConnAccept)                  (arrival)         (nginx)
 *
 * The request's own time starts when its bytes are readable (the root's start). When they came
 * before nginx accepted the connection, the request waited in the accept queue from then to the
 * accept: that part is the request's queuing delay, inside its trace. The handshake and a wait for
 * the client's first byte lie before it, so they are tags on the root.
 */
import { ConnSide, EventKind, type EventOf, type TraceEvent } from '../shared/event-types.ts';
import { eventStartNs, tupleKey, type SockIo } from './event-time.ts';

export type ConnSetupEvent = EventOf<typeof EventKind.ConnSetup>;
export type ConnAcceptEvent = EventOf<typeof EventKind.ConnAccept>;

/** A new connection's setup, as far as the kernel saw it. ns on CLOCK_MONOTONIC. */
export interface ConnectionTiming {
  /** The client's SYN, when the client was on this machine. */
  readonly synNs?: bigint;
  /** The handshake's last ACK came in: the connection joined the accept queue. */
  readonly establishedNs: bigint;
  /** The proxy took it from the accept queue (absent when no accept was seen). */
  readonly acceptedNs?: bigint;
  /** The request's bytes became readable (absent when unknown). */
  readonly arrivalNs?: bigint;
  /** The proxy's first read of them began. */
  readonly readStartNs: bigint;
  readonly rttUs: number;
  /** SYN-ACK retransmissions. */
  readonly retransmits: number;
}

/** Setups and accepts by `tupleKey` (server side: the server's view; connects: the client's), earliest first. */
export interface ConnectionIndex {
  readonly setups: ReadonlyMap<string, readonly ConnSetupEvent[]>;
  readonly accepts: ReadonlyMap<string, readonly ConnAcceptEvent[]>;
  /** Connects of traced processes (the app's pool, nginx's upstream), failed ones too. */
  readonly connects: ReadonlyMap<string, readonly ConnSetupEvent[]>;
}

export function indexConnections(events: readonly TraceEvent[]): ConnectionIndex {
  const setups = new Map<string, ConnSetupEvent[]>();
  const accepts = new Map<string, ConnAcceptEvent[]>();
  const connects = new Map<string, ConnSetupEvent[]>();
  for (const e of events) {
    if (e.kind === EventKind.ConnSetup && e.side === ConnSide.Server && e.error === 0) push(setups, tupleKey(e.tuple), e);
    else if (e.kind === EventKind.ConnSetup && e.side === ConnSide.Client) push(connects, tupleKey(e.tuple), e);
    else if (e.kind === EventKind.ConnAccept) push(accepts, tupleKey(e.tuple), e);
  }
  for (const list of [...setups.values(), ...accepts.values(), ...connects.values()]) list.sort((a, b) => (a.tsNs < b.tsNs ? -1 : a.tsNs > b.tsNs ? 1 : 0));
  return { setups, accepts, connects };
}

function push<T>(m: Map<string, T[]>, k: string, v: T): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

/**
 * The setup of the connection whose first read is `firstRead` (nginx's client side), if that read
 * is the first one after the connection was established: the latest setup on its 4-tuple before
 * the read, and the first accept between the two. A port reused by a later connection has its own
 * setup, so only the request that opened a connection gets its timing.
 */
export function connectionTiming(index: ConnectionIndex, firstRead: SockIo, isFirstOnConnection: boolean): ConnectionTiming | undefined {
  if (!isFirstOnConnection) return undefined;
  const key = tupleKey(firstRead.tuple);
  const readStart = eventStartNs(firstRead);
  const setup = (index.setups.get(key) ?? []).filter((s) => s.tsNs <= readStart).at(-1);
  if (!setup) return undefined;
  const accept = (index.accepts.get(key) ?? []).find((a) => a.tsNs >= setup.tsNs && a.tsNs <= readStart);
  const arrival = firstRead.arrivalNs > 0n && firstRead.arrivalNs <= readStart ? firstRead.arrivalNs : undefined;
  return {
    ...(setup.synNs > 0n && setup.synNs <= setup.tsNs ? { synNs: setup.synNs } : {}),
    establishedNs: setup.tsNs,
    ...(accept ? { acceptedNs: accept.tsNs } : {}),
    ...(arrival !== undefined ? { arrivalNs: arrival } : {}),
    readStartNs: readStart,
    rttUs: setup.rttUs,
    retransmits: setup.retransmits,
  };
}

/** The parts of a connection's setup, ns (each present only when its ends are known). */
export interface ConnectionWaits {
  readonly handshakeNs?: bigint;
  readonly acceptQueueNs?: bigint;
  /** Accepted → the request's bytes readable: the client had not sent yet. */
  readonly firstByteWaitNs?: bigint;
  /** Bytes readable → accepted: the request itself waited in the accept queue. */
  readonly requestQueuedNs?: bigint;
}

export function connectionWaits(t: ConnectionTiming): ConnectionWaits {
  const pos = (a: bigint, b: bigint): bigint => (b > a ? b - a : 0n);
  return {
    ...(t.synNs !== undefined ? { handshakeNs: pos(t.synNs, t.establishedNs) } : {}),
    ...(t.acceptedNs !== undefined ? { acceptQueueNs: pos(t.establishedNs, t.acceptedNs) } : {}),
    ...(t.acceptedNs !== undefined && t.arrivalNs !== undefined ? { firstByteWaitNs: pos(t.acceptedNs, t.arrivalNs), requestQueuedNs: pos(t.arrivalNs, t.acceptedNs) } : {}),
  };
}
