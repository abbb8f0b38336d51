import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeEvent } from '../tracer/encode-event.ts';
import { EventKind, type TraceEvent } from '../shared/event-types.ts';
import { processCpuSeconds, startTraceMetrics } from './trace-metrics.ts';

const dir = mkdtempSync(join(tmpdir(), 'reqtrace-trace-metrics-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const id = 'ab'.repeat(16);
const head = { requestId: id, pid: 4200, tid: 4200, fd: 20 };
const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('processCpuSeconds', () => {
  it("reads utime + stime past a command name holding spaces and ')'", () => {
    const stat = '4242 (weird ) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 12345 1000 10 18446744073709551615';
    expect(processCpuSeconds(4242, stat)).toBe(3);
    expect(processCpuSeconds(4242, null)).toBeNull();
    expect(processCpuSeconds(process.pid)).toBeGreaterThanOrEqual(0);
  });
});

describe('startTraceMetrics', () => {
  it('follows events.bin (a record split across reads) and the access log from its mark, and stops serving with the trace', async () => {
    const eventsPath = join(dir, 'events.bin');
    const accessLogPath = join(dir, 'access.jsonl');
    writeFileSync(eventsPath, '');
    const before = '{"request_id":"old","time_iso8601":"x","method":"GET","uri":"/old","status":200,"request_time":"0.001"}\n';
    writeFileSync(accessLogPath, before);
    const m = await startTraceMetrics(0, { pollMs: 20 });
    m.follow({ eventsPath, accessLogPath, accessOffset: before.length, loaderPid: process.pid, pids: { app: [4200] } });
    const start: TraceEvent = { ...head, tsNs: 1_000n, kind: EventKind.RequestStart, method: 'GET', path: '/api/users' };
    const end: TraceEvent = { ...head, tsNs: 9_000_000n, kind: EventKind.RequestEnd, status: 200, durationUs: 8000n };
    const bytes = Buffer.concat([encodeEvent(start), encodeEvent(end)]);
    appendFileSync(eventsPath, bytes.subarray(0, bytes.length - 7));
    await wait(80);
    appendFileSync(eventsPath, bytes.subarray(bytes.length - 7));
    appendFileSync(accessLogPath, `{"request_id":"${id}","time_iso8601":"x","method":"GET","uri":"/api/users","status":200,"request_time":"0.009","upstream_response_time":"0.008"}\n`);
    await wait(80);
    const text = await (await fetch(m.url)).text();
    expect(text).toContain('reqtrace_tracer_records_total 2');
    expect(text).toContain(`reqtrace_tracer_bytes_total ${bytes.length}`);
    expect(text).toContain('reqtrace_layer_seconds_total{route="GET /api/users",layer="app"} 0.008');
    expect(text).toContain('reqtrace_request_duration_seconds_bucket{route="GET /api/users",le="0.01"} 1');
    expect(text).not.toContain('/old');
    expect(text).toMatch(/reqtrace_tracer_cpu_seconds_total\{process="loader"\} \d/);
    m.loaderReported({ ringbuf: 0 });
    expect(await (await fetch(m.url)).text()).toContain('reqtrace_tracer_drops_total{counter="ringbuf"} 0');
    await m.stop();
    await expect(fetch(m.url)).rejects.toThrow();
  });
});
