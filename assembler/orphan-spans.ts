/** Events tagged with a request that fit none of its spans, kept as flagged children of its root. */
import { nestPgPhases, syscallRunSpan, type PgPhaseEvent } from './build-db-spans.ts';
import { eventStartNs, maxBig, minBig, type SockIo } from './event-time.ts';
import { draftSpan, type SpanDraft } from './span-draft.ts';

export function orphanSpans(requestId: string, phases: readonly PgPhaseEvent[], sock: readonly SockIo[]): { spans: SpanDraft[]; count: number } {
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
