/**
 * Slow connection establishment: the request opened a new connection whose TCP handshake (the
 * client's SYN to the connection established on the server) took long, typically a lost SYN or
 * SYN-ACK retransmitted after a second. The handshake precedes the request's first byte, so it is
 * outside the trace's root; the finding cites it from the root's `net.tcp.*` tags.
 */
import type { Detector } from './finding.ts';
import { fmtMs } from './finding.ts';
import { tagNsAsMs, tagNumber, traceFacts } from './trace-facts.ts';

export const detectSlowConnection: Detector = (trace, _baseline, thresholds) => {
  const f = traceFacts(trace);
  if (f.root.tags['net.connection.new'] !== true || typeof f.root.tags['net.tcp.handshake_ns'] !== 'number') return [];
  const ms = tagNsAsMs(f.root, 'net.tcp.handshake_ns');
  if (ms < thresholds.slowConnection.minMs) return [];
  const retrans = tagNumber(f.root, 'net.tcp.synack_retransmits');
  const rtt = tagNumber(f.root, 'net.tcp.handshake_rtt_us');
  const why = retrans > 0 ? `; the SYN-ACK was retransmitted ${retrans} time(s)` : ms >= 900 ? '; a lost SYN is retransmitted after 1 s' : '';
  return [
    {
      requestId: trace.traceId,
      route: f.route,
      kind: 'slow-connection-establishment',
      severity: ms >= f.rootMs ? 'critical' : 'warning',
      message: `This request's connection took ${fmtMs(ms)} to set up (client SYN → established${rtt > 0 ? `, RTT ${fmtMs(rtt / 1000)}` : ''}${why}) before its first byte was sent`,
      spanId: f.root.id,
      observedMs: ms,
      expectedMs: 0,
      excessMs: ms,
    },
  ];
};
