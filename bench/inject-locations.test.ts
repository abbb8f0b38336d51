import { describe, expect, it } from 'vitest';
import { draftSpan, finalizeTrace, type SpanDraft } from '../assembler/span-draft.ts';
import type { SpanLog, SpanTier, TagValue, Trace } from '../assembler/span.ts';
import { measureLocation } from './inject-locations.ts';

const MS = 1_000_000n;

/** A span from `a` to `b` ms. */
function span(name: string, tier: SpanTier, a: number, b: number, children: SpanDraft[] = [], tags: Record<string, TagValue> = {}): SpanDraft {
  return draftSpan(name, tier, BigInt(Math.round(a * 1000)) * (MS / 1000n), BigInt(Math.round(b * 1000)) * (MS / 1000n), { children, tags });
}

/**
 *   0    1        21 22   30    40                70     80                 98 100
 *   |ngx|--net(wait 19)--|read|setup|file|---DB query 1---|COMMIT|--serialization--|net|ngx|
 *                                       execute 45..60 ⊃ lock wait 50..58
 */
function usersTrace(extra: SpanDraft[] = []): Trace {
  return finalizeTrace(
    'a'.repeat(32),
    span('GET /api/users', 'nginx', 0, 100, [
      span('nginx processing', 'nginx', 0, 1),
      span('network: nginx → app', 'kernel', 1, 21, [], { 'kernel.socket_buffer_wait_ns': 19e6 }),
      span(
        'app processing',
        'app',
        21,
        98,
        [
          span('request read', 'kernel', 21, 22, [], { 'kernel.socket_buffer_wait_ns': 0.5e6 }),
          span('handler setup', 'app', 22, 30),
          ...extra,
          span('file: scratch.bin', 'app', 30, 40, [], { 'file.bytes_read': 4096, 'file.bytes_written': 4096 }),
          span(
            'DB query 1 (SELECT)',
            'app',
            40,
            70,
            [
              span('query send', 'kernel', 40, 41),
              span('DB processing', 'kernel', 41, 69, [span('parse', 'postgres', 42, 43), span('execute', 'postgres', 45, 60, [span('lock wait', 'postgres', 50, 58)])]),
              span('result receive', 'kernel', 69, 70),
            ],
            { 'kernel.tcp_retransmits': 1 },
          ),
          span('DB query 2 (COMMIT)', 'app', 70, 80, [span('DB processing', 'kernel', 71, 79, [span('query', 'postgres', 72, 78)])]),
          span('response serialization', 'app', 80, 97),
        ],
        { 'kernel.runq_delay_ns': 5e6 },
      ),
      span('network: app → nginx', 'kernel', 98, 99),
      span('nginx response', 'nginx', 99, 100),
    ]),
  );
}

/** A run-queue wait of `ms` ending at `endMs`, as the assembler logs it. */
const runqLog = (endMs: number, ms: number): SpanLog => ({ tsNs: BigInt(endMs) * MS, fields: { event: 'runqueue delay', 'kernel.runq_delay_ns': ms * 1e6, 'thread.id': 7 } });

/** One DB query whose DB processing runs from `a` to `b` ms, with PostgreSQL's phases and the backend's run-queue waits. */
function oneQuery(a: number, b: number, phases: SpanDraft[], waits: SpanLog[]): Trace {
  return finalizeTrace(
    'c'.repeat(32),
    span('GET /api/users', 'nginx', 0, b + 3, [
      span('app processing', 'app', 1, b + 2, [
        span('DB query 1 (SELECT)', 'app', 2, b + 1, [draftSpan('DB processing', 'kernel', BigInt(a) * MS, BigInt(b) * MS, { children: phases, logs: waits })]),
      ]),
    ]),
  );
}

describe('measureLocation', () => {
  const t = usersTrace();

  it.each([
    ['handler-setup', 8, ['handler setup']],
    ['pool-wait', 8, ['handler setup']],
    ['socket-wait-to-app', 19.5, ['network: nginx → app [socket buffer wait]', 'request read [socket buffer wait]']],
    ['db-execute', 15, ['DB query 1 (SELECT) › DB processing › execute']],
    ['lock-wait', 8, ['DB query 1 (SELECT) › DB processing › execute › lock wait']],
    ['file-io', 10, ['file: scratch.bin']],
    ['commit', 10, ['DB query 2 (COMMIT)']],
    ['app-runq', 5, ['app processing [runqueue delay]']],
    ['pg-retransmit', 30, ['DB query 1 (SELECT)']],
  ] as const)('%s: %d ms from %j', (key, ms, where) => {
    const p = measureLocation(key, t);
    expect(p.ms).toBeCloseTo(ms, 6);
    expect(p.where).toEqual(where);
  });

  it("pg-transit: each DB processing less the part PostgreSQL's phases cover, overlaps once", () => {
    // Query 1: 28 ms, phases cover 1 + 15 (the lock wait inside execute is not counted again); COMMIT: 8 − 6.
    expect(measureLocation('pg-transit', t).ms).toBeCloseTo(12 + 2, 6);
  });

  it("pg-transit: the backend's run-queue waits are not network time either", () => {
    // DB processing 3..27 with execute 10..20; waits 5..9 and 15..17 (inside execute: counted once).
    const t = oneQuery(3, 27, [span('execute', 'postgres', 10, 20)], [runqLog(9, 4), runqLog(17, 2)]);
    expect(measureLocation('pg-transit', t).ms).toBeCloseTo(24 - 10 - 4, 6);
  });

  it("db-execute: less the backend's run-queue waits that overlap it", () => {
    // pg_sleep(0.1) from 10 ms, woken at 110 ms but on a CPU only at 120 ms.
    const t = oneQuery(3, 127, [span('execute', 'postgres', 10, 120)], [runqLog(120, 10)]);
    expect(measureLocation('db-execute', t).ms).toBeCloseTo(100, 6);
  });

  it('counts retransmits and file bytes whatever the location', () => {
    expect(measureLocation('handler-setup', t)).toMatchObject({ retransmits: 1, fileBytes: { read: 4096, written: 4096 } });
  });

  it('pool-wait reads a pool wait span when the trace has one', () => {
    const withPool = usersTrace([span('pool wait', 'app', 29, 29.5)]);
    expect(measureLocation('pool-wait', withPool)).toMatchObject({ ms: 0.5, where: ['pool wait'] });
  });

  it('is 0 with nothing to read where a location is absent', () => {
    const bare = finalizeTrace('b'.repeat(32), span('GET /healthz', 'nginx', 0, 2, [span('app processing', 'app', 0.5, 1.5, [span('handler', 'app', 0.6, 1.4)])]));
    expect(measureLocation('lock-wait', bare)).toEqual({ ms: 0, where: [], retransmits: 0, fileBytes: { read: 0, written: 0 } });
    expect(measureLocation('handler-setup', bare).ms).toBeCloseTo(0.8, 6);
    expect(measureLocation('app-runq', bare).ms).toBe(0);
  });
});
