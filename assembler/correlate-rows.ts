/**
 * Correlation on columns: one pass that files every event's row under what it belongs to
 * (its request; for untagged socket I/O, its connection; run-queue delays under their thread;
 * retransmits under their connection; file opens, accepts and closes under their pid and fd).
 * Rows within each group are in `compareEvents` order; groups in order of first appearance.
 * Pure; allocates per group, not per event.
 */
import type { EventColumns } from '../tracer/event-table.ts';
import { EventKind } from '../shared/event-types.ts';
import { grown, PackedLists } from './packed-lists.ts';
import { rowsByTime } from './rows-by-time.ts';
import { sortStably } from './sort-stably.ts';

export interface RowGroup {
  readonly key: number;
  readonly rows: number[];
}

export interface RowPairGroup {
  readonly a: number;
  readonly b: number;
  readonly rows: number[];
}

/** Groups packed: group `i` has key `keys[i]` and rows `rows.at(i)`. */
export interface PackedRowGroups {
  readonly keys: Int32Array;
  readonly rows: PackedLists;
}

export interface RowIndex {
  /** By request index (`requestIds`). */
  readonly byRequest: PackedRowGroups;
  /** Untagged socket I/O with a positive byte count, by connection index. */
  readonly untaggedSockByConn: readonly RowGroup[];
  /** `proxyPeerKey` → connection index, for the proxy port's client connections. */
  readonly proxyConnByPeer: ReadonlyMap<string, number>;
  /** Untagged socket reads with a positive byte count on the proxy port, by pid. */
  readonly untaggedRecvByPidOnPort: readonly RowGroup[];
  /** Run-queue delays by (pid, tid) and by pid. */
  readonly runqByThread: readonly RowPairGroup[];
  readonly runqByPid: readonly RowGroup[];
  /** The row of the longest run-queue delay, -1 when there is none. */
  readonly maxRunqDelayRow: number;
  /** Retransmits by connection index. */
  readonly retransmitsByConn: readonly RowGroup[];
  /** By (pid, fd); accepts and closes with no fd are left out. */
  readonly fileOpensByFd: readonly RowPairGroup[];
  readonly acceptsByFd: readonly RowPairGroup[];
  readonly closesByFd: readonly RowPairGroup[];
  /** Connection index → the pid that owns it, from the sockets family's owner records (fd -1). */
  readonly ownerByConn: ReadonlyMap<number, number>;
  /** A thread's kernel waits (block I/O, major faults, sleeps, slow syscalls, reclaim), by pid. */
  readonly waitsByPid: readonly RowGroup[];
  /** Packets sent, by connection index. */
  readonly xmitsByConn: readonly RowGroup[];
}

/** Names a proxy-side client connection by what the access log knows of it. */
export function proxyPeerKey(proxyPort: number, remoteAddress: string, remotePort: number): string {
  return `${proxyPort}>${remoteAddress}:${remotePort}`;
}

/** Rows in `compareEvents` order (end time, kind, pid, tid, fd, request id, start). */
export function compareRows(c: EventColumns, x: number, y: number): number {
  const tx = c.ts[x]!;
  const ty = c.ts[y]!;
  if (tx !== ty) return tx < ty ? -1 : 1;
  if (c.kind[x] !== c.kind[y]) return c.kind[x]! - c.kind[y]!;
  if (c.pid[x] !== c.pid[y]) return c.pid[x]! - c.pid[y]!;
  if (c.tid[x] !== c.tid[y]) return c.tid[x]! - c.tid[y]!;
  if (c.fd[x] !== c.fd[y]) return c.fd[x]! - c.fd[y]!;
  const rx = c.request[x]!;
  const ry = c.request[y]!;
  if (rx !== ry) {
    const ix = rx < 0 ? '' : c.requestIds[rx]!;
    const iy = ry < 0 ? '' : c.requestIds[ry]!;
    if (ix !== iy) return ix < iy ? -1 : 1;
  }
  const sx = tx - c.lead[x]!;
  const sy = ty - c.lead[y]!;
  return sx === sy ? 0 : sx < sy ? -1 : 1;
}

/** Row numbers in event order, or null when the rows already are in it. */
export function eventOrder(c: EventColumns): Int32Array | null {
  const ts = c.ts;
  let sorted = true;
  for (let i = 1; i < c.length; i++) {
    // Times nearly always differ: the full comparison runs only on ties.
    if (ts[i]! > ts[i - 1]!) continue;
    if (ts[i]! < ts[i - 1]! || compareRows(c, i - 1, i) > 0) {
      sorted = false;
      break;
    }
  }
  if (sorted) return null;
  const byTime = rowsByTime(ts, c.length);
  if (byTime === null) {
    // Array sort is stable: rows that compare equal keep their input order.
    return Int32Array.from(Array.from({ length: c.length }, (_, i) => i).sort((x, y) => compareRows(c, x, y)));
  }
  // Rows of one time are in row order: sorting each such run stably by the rest of the comparison
  // gives the order of the whole comparison, ties still in row order.
  const n = byTime.length;
  for (let from = 0; from < n; ) {
    const t = ts[byTime[from]!]!;
    let to = from + 1;
    while (to < n && ts[byTime[to]!] === t) to++;
    if (to - from > 1) sortRun(c, byTime, from, to);
    from = to;
  }
  return byTime;
}

/** Sorts `rows[from..to)` stably by `compareRows`, in place. */
function sortRun(c: EventColumns, rows: Int32Array, from: number, to: number): void {
  if (to - from > 32) {
    rows.set(sortStably(Array.from(rows.subarray(from, to)), (x, y) => compareRows(c, x, y)), from);
    return;
  }
  for (let i = from + 1; i < to; i++) {
    const x = rows[i]!;
    let j = i - 1;
    while (j >= from && compareRows(c, rows[j]!, x) > 0) {
      rows[j + 1] = rows[j]!;
      j--;
    }
    rows[j + 1] = x;
  }
}

/** Groups keyed by a small dense index (request, connection): one array slot per key. */
class DenseGroups {
  readonly #lists: Array<number[] | undefined>;
  readonly #order: number[] = [];
  constructor(size: number) {
    this.#lists = new Array<number[] | undefined>(size).fill(undefined);
  }
  push(key: number, row: number): void {
    const list = this.#lists[key];
    if (list !== undefined) list.push(row);
    else {
      this.#lists[key] = [row];
      this.#order.push(key);
    }
  }
  groups(): RowGroup[] {
    return this.#order.map((key) => ({ key, rows: this.#lists[key]! }));
  }
}

/**
 * Groups keyed by a small dense index, with many rows in all (requests): what is pushed is kept
 * as two columns, then packed by key.
 */
export class PackedGroups {
  readonly #size: number;
  #keys: Int32Array = new Int32Array(4096);
  #rows: Int32Array = new Int32Array(4096);
  #n = 0;
  constructor(size: number) {
    this.#size = size;
  }
  push(key: number, row: number): void {
    if (this.#n === this.#keys.length) {
      this.#keys = grown(this.#keys, 0);
      this.#rows = grown(this.#rows, 0);
    }
    this.#keys[this.#n] = key;
    this.#rows[this.#n] = row;
    this.#n++;
  }
  groups(): PackedRowGroups {
    const n = this.#n;
    const keys = this.#keys;
    const groupOf = new Int32Array(this.#size).fill(-1);
    const order: number[] = [];
    const counts: number[] = [];
    for (let i = 0; i < n; i++) {
      const key = keys[i]!;
      let g = groupOf[key]!;
      if (g < 0) {
        g = groupOf[key] = order.length;
        order.push(key);
        counts.push(0);
      }
      counts[g]!++;
    }
    const starts = new Int32Array(order.length + 1);
    for (let g = 0; g < order.length; g++) starts[g + 1] = starts[g]! + counts[g]!;
    const next = starts.slice(0, order.length);
    const values = new Int32Array(n);
    for (let i = 0; i < n; i++) values[next[groupOf[keys[i]!]!]!++] = this.#rows[i]!;
    return { keys: Int32Array.from(order), rows: PackedLists.of(values, starts) };
  }
}

/** Groups keyed by any integer (pid). */
class SparseGroups {
  readonly #lists = new Map<number, number[]>();
  push(key: number, row: number): void {
    const list = this.#lists.get(key);
    if (list !== undefined) list.push(row);
    else this.#lists.set(key, [row]);
  }
  groups(): RowGroup[] {
    return [...this.#lists].map(([key, rows]) => ({ key, rows }));
  }
}

/** Groups keyed by two integers (pid and tid, pid and fd). */
class PairGroups {
  readonly #lists = new Map<number, Map<number, number[]>>();
  readonly #order: RowPairGroup[] = [];
  push(a: number, b: number, row: number): void {
    let inner = this.#lists.get(a);
    if (inner === undefined) this.#lists.set(a, (inner = new Map()));
    const list = inner.get(b);
    if (list !== undefined) list.push(row);
    else {
      const rows = [row];
      inner.set(b, rows);
      this.#order.push({ a, b, rows });
    }
  }
  groups(): RowPairGroup[] {
    return this.#order;
  }
}

// Kinds as plain constants: read through the module's exports, each use in the loop is a load.
const RUNQ_DELAY = EventKind.RunqDelay;
const TCP_RETRANSMIT = EventKind.TcpRetransmit;
const FILE_OPEN = EventKind.FileOpen;
const SOCK_ACCEPT = EventKind.SockAccept;
const SOCK_CLOSE = EventKind.SockClose;
const SOCK_RECV = EventKind.SockRecv;
const SOCK_SEND = EventKind.SockSend;
const BLOCK_IO = EventKind.BlockIo;
const MAJOR_FAULT = EventKind.MajorFault;
const OFFCPU = EventKind.Offcpu;
const SLOW_SYSCALL = EventKind.SlowSyscall;
const DIRECT_RECLAIM = EventKind.DirectReclaim;
const NET_XMIT = EventKind.NetXmit;

interface Groups {
  readonly byRequest: PackedGroups;
  readonly untaggedSock: DenseGroups;
  readonly retransmits: DenseGroups;
  readonly untaggedRecvByPid: SparseGroups;
  readonly runqByPid: SparseGroups;
  readonly runqByThread: PairGroups;
  readonly fileOpens: PairGroups;
  readonly accepts: PairGroups;
  readonly closes: PairGroups;
  readonly proxyConnByPeer: Map<string, number>;
  readonly ownerByConn: Map<number, number>;
  readonly waitsByPid: SparseGroups;
  readonly xmits: DenseGroups;
}

/*
 * The per-row loop, alone in its function: it runs once for every row of a capture, so it is
 * compiled on-stack; the bookkeeping around it stays out, where running it the first time does
 * not throw the loop's compiled code away. Returns the row of the longest run-queue delay.
 */
function fileRows(c: EventColumns, order: Int32Array | null, g: Groups, onProxyPort: readonly boolean[], peerKeys: readonly string[]): number {
  const { kind, pid, tid, fd, request, conn, bytes, lead } = c;
  let maxRunqDelayRow = -1;
  let maxRunqDelay = 0;
  let lastProxyConn = -1;
  for (let i = 0; i < c.length; i++) {
    const row = order === null ? i : order[i]!;
    const k = kind[row]!;
    if (k === RUNQ_DELAY) {
      g.runqByThread.push(pid[row]!, tid[row]!, row);
      g.runqByPid.push(pid[row]!, row);
      if (lead[row]! > maxRunqDelay) {
        maxRunqDelay = lead[row]!;
        maxRunqDelayRow = row;
      }
      continue;
    }
    if (k === TCP_RETRANSMIT) {
      g.retransmits.push(conn[row]!, row);
      continue;
    }
    if (k === BLOCK_IO || k === OFFCPU || k === MAJOR_FAULT || k === SLOW_SYSCALL || k === DIRECT_RECLAIM) {
      g.waitsByPid.push(pid[row]!, row);
      continue;
    }
    if (k === NET_XMIT) {
      g.xmits.push(conn[row]!, row);
      continue;
    }
    if (k === FILE_OPEN) g.fileOpens.push(pid[row]!, fd[row]!, row);
    else if (k === SOCK_ACCEPT && fd[row]! >= 0) g.accepts.push(pid[row]!, fd[row]!, row);
    else if (k === SOCK_ACCEPT && conn[row]! >= 0) g.ownerByConn.set(conn[row]!, pid[row]!);
    else if (k === SOCK_CLOSE && fd[row]! >= 0) g.closes.push(pid[row]!, fd[row]!, row);
    const r = request[row]!;
    if (r >= 0) g.byRequest.push(r, row);
    else if ((k === SOCK_RECV || k === SOCK_SEND) && bytes[row]! > 0) {
      const cn = conn[row]!;
      g.untaggedSock.push(cn, row);
      if (onProxyPort[cn]) {
        if (cn !== lastProxyConn) {
          // Later connections from the same client address and port take the name over.
          g.proxyConnByPeer.set(peerKeys[cn]!, cn);
          lastProxyConn = cn;
        }
        if (k === SOCK_RECV) g.untaggedRecvByPid.push(pid[row]!, row);
      }
    }
  }
  return maxRunqDelayRow;
}

/** Correlates every row of `c`; `proxyPort` picks nginx's client-side sockets. */
export function correlateRows(c: EventColumns, proxyPort: number): RowIndex {
  const g: Groups = {
    byRequest: new PackedGroups(c.requestIds.length),
    untaggedSock: new DenseGroups(c.tuples.length),
    retransmits: new DenseGroups(c.tuples.length),
    untaggedRecvByPid: new SparseGroups(),
    runqByPid: new SparseGroups(),
    runqByThread: new PairGroups(),
    fileOpens: new PairGroups(),
    accepts: new PairGroups(),
    closes: new PairGroups(),
    proxyConnByPeer: new Map(),
    ownerByConn: new Map(),
    waitsByPid: new SparseGroups(),
    xmits: new DenseGroups(c.tuples.length),
  };
  const onProxyPort = c.tuples.map((t) => t.localPort === proxyPort);
  const peerKeys = c.tuples.map((t) => proxyPeerKey(proxyPort, t.remoteAddress, t.remotePort));
  const maxRunqDelayRow = fileRows(c, eventOrder(c), g, onProxyPort, peerKeys);
  return {
    byRequest: g.byRequest.groups(),
    untaggedSockByConn: g.untaggedSock.groups(),
    proxyConnByPeer: g.proxyConnByPeer,
    untaggedRecvByPidOnPort: g.untaggedRecvByPid.groups(),
    runqByThread: g.runqByThread.groups(),
    runqByPid: g.runqByPid.groups(),
    maxRunqDelayRow,
    retransmitsByConn: g.retransmits.groups(),
    fileOpensByFd: g.fileOpens.groups(),
    acceptsByFd: g.accepts.groups(),
    closesByFd: g.closes.groups(),
    ownerByConn: g.ownerByConn,
    waitsByPid: g.waitsByPid.groups(),
    xmitsByConn: g.xmits.groups(),
  };
}
