import { describe, expect, it } from 'vitest';
import { encodeEvent } from '../tracer/encode-event.ts';
import { decodeTable } from '../tracer/event-table-builder.ts';
import { EventKind, type TraceEvent } from '../shared/event-types.ts';
import { appFacts, requestFacts } from './app-facts.ts';
import { eventStartNs } from './event-time.ts';
import { IDS, SCENARIOS } from './fixtures/scenarios.ts';
import { indexCapture } from './index-capture.ts';

const PROXY_PORT = 18080;
const scenario = SCENARIOS['users-two-queries']!();

/** The facts of the one request of `events`, read off their decoded table. */
function factsOf(events: readonly TraceEvent[]) {
  const { table } = decodeTable(Buffer.concat(events.map((e) => encodeEvent(e))));
  const index = indexCapture(table, PROXY_PORT);
  const rows = index.byRequest.get(IDS.users)!;
  return { index, facts: appFacts(IDS.users, rows, index) };
}

describe('appFacts', () => {
  it('bounds a request by its first inbound read and its RequestEnd, and keeps no event', () => {
    const events = [...scenario.events];
    const { facts } = factsOf(events);
    const own = events.filter((e) => e.requestId === IDS.users);
    const start = own.find((e) => e.kind === EventKind.RequestStart)!;
    const end = own.find((e) => e.kind === EventKind.RequestEnd)!;
    const recv = own.find((e) => e.kind === EventKind.SockRecv && e.fd === start.fd)!;
    expect(facts.startNs).toBe(eventStartNs(recv) < start.tsNs ? eventStartNs(recv) : start.tsNs);
    expect(facts.endNs >= end.tsNs).toBe(true);
    expect(facts.warnings).toEqual([]);
    expect(Object.values(facts).some((v) => typeof v === 'object' && v !== null && 'kind' in v)).toBe(false);
  });

  it('says so when RequestStart is missing, starting at the first read', () => {
    const { facts } = factsOf(scenario.events.filter((e) => e.kind !== EventKind.RequestStart));
    expect(facts.reqStartAt).toBe(-1);
    expect(facts.warnings).toContain('RequestStart missing: app span starts at the first read of the request');
  });
});

describe('requestFacts', () => {
  it('builds the events once, the facts naming the same objects', () => {
    const { index, facts } = factsOf([...scenario.events]);
    const full = requestFacts(facts, index.table);
    expect(full.events).toHaveLength(facts.rows.length);
    expect(full.reqStart).toBe(full.events[facts.reqStartAt]);
    expect(full.reqEnd?.kind).toBe(EventKind.RequestEnd);
    for (const r of full.inboundRecvs) expect(full.events).toContain(r);
    expect(full.inboundRecvs.every((e) => e.kind === EventKind.SockRecv && e.fd === facts.inboundFd)).toBe(true);
  });
});
