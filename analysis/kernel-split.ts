/**
 * What the kernel saw inside a span: its time split into on CPU, waiting for a CPU, for a lock,
 * for the disk, in a socket buffer or the accept queue, for TCP retransmits, for memory reclaim,
 * and the rest, from the kernel tags on the span and its descendants (the assembler put them
 * there). Waits of different threads can overlap (the app thread and a backend both waiting), so
 * when the parts add up to more than the span they are scaled down to fit it; what no tag
 * explains is `other`.
 *
 *   DB query 2 (SELECT)   |==========================| 10.4 ms
 *     DB processing          runqueue 6.1 · on CPU 2.9
 *     result receive                       socket buffer 0.8
 *   → runqueue 6.1, on CPU 2.9, socket buffer 0.8, other 0.6: dominant cause "waited for a CPU"
 */
import { durationNs, type Span, type Trace } from '../assembler/span.ts';

export const SPLIT_CAUSES = ['on-cpu', 'runqueue', 'lock', 'disk', 'socket-buffer', 'accept-queue', 'retransmit', 'reclaim'] as const;
export type SplitCause = (typeof SPLIT_CAUSES)[number];

export interface SplitPart {
  readonly cause: SplitCause;
  readonly ms: number;
  /** Whose wait it mostly was: the span that contributed most of it. */
  readonly spanName: string;
  readonly tier: Span['tier'];
}

export interface KernelSplit {
  readonly totalMs: number;
  /** Largest first; only causes seen. */
  readonly parts: readonly SplitPart[];
  /** Not explained by any tag, ms. */
  readonly otherMs: number;
}

const num = (s: Span, key: string): number => {
  const v = s.tags[key];
  return typeof v === 'number' ? v : 0;
};

/** Who waited, when not the span's own tier: a socket's reader waiting for a CPU. */
type Subject = 'reader';

/** One span's own contribution to each cause, ns (not its descendants'), and whose it was. */
function ownParts(s: Span): { cause: SplitCause; ns: number; subject?: Subject }[] {
  const out: { cause: SplitCause; ns: number; subject?: Subject }[] = [];
  const put = (cause: SplitCause, ns: number, subject?: Subject): void => {
    if (ns > 0) out.push({ cause, ns, ...(subject ? { subject } : {}) });
  };
  put('on-cpu', num(s, 'kernel.on_cpu_ns'));
  put('runqueue', num(s, 'kernel.runq_delay_ns'));
  // A socket-buffer wait during which its reader waited for a CPU is CPU contention.
  const readerRunq = Math.min(num(s, 'kernel.reader_runq_delay_ns'), num(s, 'kernel.socket_buffer_wait_ns'));
  put('runqueue', readerRunq, 'reader');
  put('lock', num(s, 'kernel.futex_wait_ns'));
  if (s.name === 'lock wait' && s.tier === 'postgres') put('lock', Number(durationNs(s)));
  // A thread waiting for the disk sleeps in I/O wait: with the offcpu family that sleep is the
  // disk time; without it, the device time of the block requests and major faults stands in.
  const ioWait = num(s, 'kernel.io_wait_ns');
  put('disk', ioWait > 0 ? ioWait : num(s, 'kernel.block_io_ns') + num(s, 'kernel.major_fault_ns'));
  put('socket-buffer', num(s, 'kernel.socket_buffer_wait_ns') - readerRunq);
  put('accept-queue', num(s, 'net.tcp.accept_queue_wait_ns'));
  put('retransmit', num(s, 'kernel.tcp_retransmit_wait_ns'));
  put('reclaim', num(s, 'kernel.direct_reclaim_ns'));
  return out;
}

/** The reader of a span's socket: the app thread, or nginx for nginx's sockets. */
function readerTier(s: Span): Span['tier'] {
  return s.name === 'network: app → nginx' || s.name === 'nginx processing' ? 'nginx' : 'app';
}

/** The split of `span` (a span of `trace`). Pure. */
export function kernelSplit(trace: Trace, span: Span): KernelSplit {
  const total = Number(durationNs(span));
  const inside = new Set([span.id]);
  const sums = new Map<SplitCause, { ns: number; topName: string; topTier: Span['tier']; topNs: number }>();
  for (const s of trace.spans) {
    if (s.id !== span.id && !(s.parentId !== null && inside.has(s.parentId))) continue;
    inside.add(s.id);
    for (const { cause, ns, subject } of ownParts(s)) {
      const tier = subject === 'reader' ? readerTier(s) : s.tier;
      const name = subject === 'reader' ? (tier === 'nginx' ? 'nginx worker' : 'app processing') : s.name;
      const cur = sums.get(cause);
      if (!cur) sums.set(cause, { ns, topName: name, topTier: tier, topNs: ns });
      else {
        cur.ns += ns;
        if (ns > cur.topNs) Object.assign(cur, { topName: name, topTier: tier, topNs: ns });
      }
    }
  }
  const seen = [...sums.values()].reduce((n, v) => n + v.ns, 0);
  const scale = seen > total && seen > 0 ? total / seen : 1;
  const parts = [...sums]
    .map(([cause, v]) => ({ cause, ms: (v.ns * scale) / 1e6, spanName: v.topName, tier: v.topTier }))
    .sort((a, b) => b.ms - a.ms || SPLIT_CAUSES.indexOf(a.cause) - SPLIT_CAUSES.indexOf(b.cause));
  const explained = parts.reduce((n, p) => n + p.ms, 0);
  return { totalMs: total / 1e6, parts, otherMs: Math.max(0, total / 1e6 - explained) };
}

/** Who waited, by the span the wait was mostly on. */
function subject(p: SplitPart): string {
  if (p.tier === 'postgres') return 'the backend';
  if (p.tier === 'nginx') return 'nginx';
  if (p.spanName === 'app processing' || p.tier === 'app') return 'the app thread';
  return 'the data';
}

/** "6.1ms of it the backend waited for a CPU": how a part reads in a finding's sentence. */
export function describePart(p: SplitPart, fmt: (ms: number) => string): string {
  const who = subject(p);
  const what: Record<SplitCause, string> = {
    'on-cpu': `${who} was on CPU`,
    runqueue: `${who} waited for a CPU`,
    lock: `${who} waited for a lock`,
    disk: `${who} waited for the disk`,
    'socket-buffer': 'data sat unread in a socket buffer',
    'accept-queue': 'the request waited in the accept queue',
    retransmit: 'TCP retransmissions held it up',
    reclaim: `${who} stalled reclaiming memory`,
  };
  return `${fmt(p.ms)} of it ${what[p.cause]}`;
}

/**
 * The cause worth naming in a finding about `span`: the largest part when it is at least
 * `minShare` of the span and at least `minMs`. Waiting on CPU alone is not a cause (a span
 * mostly on CPU is simply work).
 */
export function dominantCause(split: KernelSplit, minShare = 0.2, minMs = 1): SplitPart | undefined {
  const top = split.parts.find((p) => p.cause !== 'on-cpu');
  if (!top || top.ms < minMs || top.ms < minShare * split.totalMs) return undefined;
  return top;
}
