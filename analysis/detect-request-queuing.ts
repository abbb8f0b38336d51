/**
 * Request queuing delay: the request's bytes had arrived, but its connection still sat in nginx's
 * accept queue (established, not yet accepted): nginx was not accepting. The part of the
 * request's own time spent so (`net.tcp.accept_queue_wait_ns` on nginx processing) is judged by
 * an absolute bar: normally there is none.
 */
import type { Detector } from './finding.ts';
import { fmtMs } from './finding.ts';
import { tagNsAsMs, traceFacts } from './trace-facts.ts';

export const detectRequestQueuing: Detector = (trace, _baseline, thresholds) => {
  const f = traceFacts(trace);
  const proc = trace.spans.find((s) => s.parentId === f.root.id && s.name === 'nginx processing');
  if (!proc) return [];
  const queued = tagNsAsMs(proc, 'net.tcp.accept_queue_wait_ns');
  if (queued < thresholds.requestQueuing.minMs) return [];
  const connQueue = tagNsAsMs(f.root, 'net.tcp.accept_queue_ns');
  return [
    {
      requestId: trace.traceId,
      route: f.route,
      kind: 'request-queuing-delay',
      severity: f.rootMs > 0 && queued >= 0.5 * f.rootMs ? 'critical' : 'warning',
      message: `This request waited ${fmtMs(queued)} in nginx's accept queue before nginx took its connection (${connQueue > 0 ? `accepted ${fmtMs(connQueue)} after the handshake; ` : ''}${Math.round((queued / Math.max(f.rootMs, queued)) * 100)}% of the request)`,
      spanId: proc.id,
      observedMs: queued,
      expectedMs: 0,
      excessMs: queued,
    },
  ];
};
