import { describe, expect, it } from 'vitest';
import type { SockIo } from './event-time.ts';
import { sockIoEvent } from './fixtures/sock-io-event.ts';
import { orphanSpans } from './orphan-spans.ts';

const send = (tsNs: bigint, fd: number): SockIo => sockIoEvent({ tsNs, fd, requestId: 'r' });

describe('orphanSpans', () => {
  it('groups socket events that fit no span by pid and fd, flagged and counted', () => {
    const { spans, count } = orphanSpans('r', [], [send(100n, 9), send(200n, 9), send(150n, 11)]);
    expect(count).toBe(3);
    expect(spans.map((s) => [s.name, s.tags.orphan, s.tags['orphan.events'], s.tags['network.peer.port']])).toEqual([
      ['orphan: socket I/O (fd 9)', true, 2, 18082],
      ['orphan: socket I/O (fd 11)', true, 1, 18082],
    ]);
    expect(spans[0]!.warnings).toEqual(['2 socket event(s) on pid:fd 7:9 tagged with this request fit no span']);
  });

  it('makes nothing of nothing', () => {
    expect(orphanSpans('r', [], [])).toEqual({ spans: [], count: 0 });
  });
});
