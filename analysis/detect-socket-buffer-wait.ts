/**
 * Data sat in a kernel socket buffer, readable, while its reader did not read it: the reader
 * was busy. For the app (single event loop) that means the loop was blocked, and the CPU work
 * of concurrent requests overlapping the wait says by whom.
 */
import type { Span } from '../assembler/span.ts';
import { cpuWorkDuring } from './cpu-work-index.ts';
import type { Detector, Finding } from './finding.ts';
import { fmtMs, judged, largeWithoutBaseline, usableRouteBaseline, WITHOUT_BASELINE_NOTE } from './finding.ts';
import { tagNsAsMs, traceFacts } from './trace-facts.ts';

/** Spans whose buffer wait is the app's (reading the request or a DB result). */
const APP_READS: ReadonlySet<string> = new Set(['network: nginx → app', 'request read', 'result receive']);

/** Most concurrent requests named in one message. */
const MAX_NAMED = 3;

function waitWindow(trace: { spans: readonly Span[] }, s: Span, waitNs: bigint): [bigint, bigint] {
  const child = trace.spans.find((c) => c.parentId === s.id && c.name === 'socket buffer wait');
  if (child) return [child.startNs, child.endNs];
  // Network spans end at the read; receive spans start at the arrival.
  if (s.name.startsWith('network:')) return [s.endNs - waitNs, s.endNs];
  return [s.startNs, s.startNs + waitNs];
}

export const detectSocketBufferWait: Detector = (trace, baseline, thresholds, context) => {
  const f = traceFacts(trace);
  const rb = usableRouteBaseline(baseline, f.route, thresholds);
  const t = thresholds.socketWait;
  const appSpan = trace.spans.find((s) => s.parentId === f.root.id && s.name === 'app processing');
  const appPid = appSpan && typeof appSpan.tags['process.pid'] === 'number' ? appSpan.tags['process.pid'] : -1;
  const out: Finding[] = [];
  for (const s of trace.spans) {
    const w = tagNsAsMs(s, 'kernel.socket_buffer_wait_ns');
    if (w < t.minMs || (rb ? w <= rb.socketWaitMs.p99 * (1 + t.p99Margin) : !largeWithoutBaseline(w, f.rootMs, thresholds))) continue;
    const app = APP_READS.has(s.name);
    let why = app ? 'the application was busy: event loop blocked' : 'nginx was busy';
    if (app && context?.cpuWork) {
      const [from, to] = waitWindow(trace, s, BigInt(Math.round(w * 1e6)));
      const busy = cpuWorkDuring(context.cpuWork, from, to, appPid, trace.traceId);
      if (busy.length > 0) {
        const named = busy.slice(0, MAX_NAMED).map((b) => `${b.work.route} ${b.work.traceId.slice(0, 8)} (${b.work.spanName}, ${fmtMs(Number(b.overlapNs) / 1e6)})`);
        const more = busy.length > MAX_NAMED ? ` and ${busy.length - MAX_NAMED} more` : '';
        why += `; CPU work of concurrent requests then: ${named.join(', ')}${more}`;
      }
    }
    const expectedMs = rb?.socketWaitMs.p50 ?? 0;
    out.push({
      requestId: trace.traceId,
      route: f.route,
      kind: 'socket-buffer-wait',
      message: `${fmtMs(w)} was spent in the kernel socket buffer at ${s.name} (${why})${rb ? '' : WITHOUT_BASELINE_NOTE}`,
      spanId: s.id,
      ...judged(rb, w, expectedMs, thresholds),
    });
  }
  return out;
};
