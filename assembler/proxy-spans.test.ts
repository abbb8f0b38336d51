import { describe, expect, it } from 'vitest';
import { EventKind } from '../shared/event-types.ts';
import type { SockIo } from './event-time.ts';
import { sockIoEvent } from './fixtures/sock-io-event.ts';
import { estimatedNginxSpans, networkSpan } from './proxy-spans.ts';

const recv = (tsNs: bigint, durationNs: bigint, arrivalNs: bigint): SockIo => sockIoEvent({ tsNs, durationNs, arrivalNs, kind: EventKind.SockRecv, bytes: 100n });

describe('estimatedNginxSpans', () => {
  it("splits what request_time leaves beyond the app evenly before and after it", () => {
    //   nginx  |--250--|====== app 1000 ======|--250--|   request_time 1.5 µs
    const e = estimatedNginxSpans(10_000n, 11_000n, 1.5e-6, undefined)!;
    expect([e.before.startNs, e.before.endNs, e.after.startNs, e.after.endNs]).toEqual([9_750n, 10_000n, 11_000n, 11_250n]);
    expect(e.before.tags.estimated).toBe(true);
  });

  it("bounds the total by the client's latency, and gives nothing when nothing is left", () => {
    const client = { requestId: 'x', method: 'GET', path: '/', status: 200, startMs: 0, latencyMs: 0.0012 };
    const e = estimatedNginxSpans(10_000n, 11_000n, 1.5e-6, client)!;
    expect(e.after.endNs - e.before.startNs).toBe(1_200n);
    expect(estimatedNginxSpans(10_000n, 11_000n, 1e-6, undefined)).toBeUndefined();
  });
});

describe('networkSpan', () => {
  it("tags the wait in the receiver's socket buffer, and draws it when it is long enough", () => {
    //   network   |-------------------------------|
    //   bytes arrive      ^ 2 ms ... read starts ^
    const s = networkSpan('network: nginx → app', 0n, 10_000_000n, recv(9_500_000n, 500_000n, 7_000_000n), 'exact');
    expect(s.tags['kernel.socket_buffer_wait_ns']).toBe(2_000_000);
    expect(s.children.map((c) => [c.name, c.startNs, c.endNs])).toEqual([['socket buffer wait', 7_000_000n, 9_000_000n]]);
    expect(networkSpan('n', 0n, 10n, recv(10n, 1n, 0n), 'exact').tags).toEqual({});
  });
});
