/**
 * Kernel findings put on a span as tags, logs and a correlation mark: run-queue delays, the
 * waits of the kernel-wait families, a thread's time on CPU, and the run-queue delays of the
 * reader of a socket buffer that data waited in.
 */
import type { WaitAttribution } from './attribute-kernel-waits.ts';
import { attributeRunqDelay } from './attribute-runq-delay.ts';
import { markCorrelation } from './correlation.ts';
import type { RunqDelayEvent } from './index-capture.ts';
import type { SpanDraft } from './span-draft.ts';

export function applyRunq(span: SpanDraft, att: ReturnType<typeof attributeRunqDelay>, confidence: number): void {
  if (att.count === 0) return;
  span.tags['kernel.runq_delay_ns'] = Number(att.totalNs);
  span.tags['kernel.runq_delays'] = att.count;
  span.logs.push(...att.logs);
  markCorrelation(span, 'kernel.runq_delay', 'thread+time', confidence);
}

export function applyWaits(span: SpanDraft, att: WaitAttribution, confidence: number): void {
  if (Object.keys(att.tags).length === 0) return;
  Object.assign(span.tags, att.tags);
  span.logs.push(...att.logs);
  markCorrelation(span, 'kernel.waits', 'thread+time', confidence);
}

/**
 * A single thread's time on CPU inside `span`, where the offcpu family saw its every sleep of
 * 50 µs or more: the span less its sleeps and run-queue waits (shorter sleeps count as on CPU).
 */
export function applyOnCpu(span: SpanDraft, confidence: number): void {
  const off = Number(span.tags['kernel.offcpu_ns'] ?? 0) + Number(span.tags['kernel.runq_delay_ns'] ?? 0);
  span.tags['kernel.on_cpu_ns'] = Math.max(0, Number(span.endNs - span.startNs) - off);
  markCorrelation(span, 'kernel.waits', 'thread+time', confidence);
}

export interface Reader {
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
export function attributeReaderRunq(roots: readonly SpanDraft[], r: { app: Reader; nginx?: Reader; maxRunqDelayNs: bigint }): void {
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
