/**
 * Trace assembly throughput and memory: builds a synthetic capture (nginx → app → PostgreSQL
 * events for N requests over keep-alive connections, 2 queries each, some file I/O and
 * run-queue noise), then times assembleCapture and reports peak memory.
 *
 *   node --expose-gc --import tsx bench/assemble-throughput.ts [requests=100000]
 */
import { assembleCapture } from '../assembler/build-span-tree.ts';
import { buildRequest, captureMeta, fixtureId, PIDS, type RequestPlan } from '../assembler/fixtures/scenario-builder.ts';
import type { Capture } from '../tracer/capture-types.ts';
import { EventKind, type TraceEvent } from '../tracer/event-types.ts';

const requests = Number(process.argv[2] ?? 100_000);
if (!Number.isInteger(requests) || requests < 1 || requests > 2_000_000) {
  process.stderr.write(`assemble-throughput: requests must be 1..2000000, got '${process.argv[2]}'\n`);
  process.exit(2);
}
const gc = (globalThis as { gc?: () => void }).gc;
const mb = (n: number): string => `${(n / 1048576).toFixed(0)} MiB`;

function syntheticCapture(n: number): Capture {
  const events: TraceEvent[] = [];
  const connections = 64;
  for (let i = 0; i < n; i++) {
    const conn = i % connections;
    const plan: RequestPlan = {
      id: fixtureId(i + 1),
      path: i % 3 === 0 ? '/api/report' : '/api/users',
      atUs: Math.floor(i / connections) * 12_000 + conn * 7,
      appFd: 100 + conn,
      upstreamPort: 40000 + conn,
      clientPort: 50000 + conn,
      steps: [
        { kind: 'query', plan: { sql: 'SELECT id, name FROM users ORDER BY id LIMIT $1', executeUs: 400 + (i % 17) * 30, rows: 20, pgFd: 200 + conn, pgLocalPort: 45000 + conn, bufferReads: i % 5 === 0 ? 2 : 0 } },
        ...(i % 3 === 0 ? [{ kind: 'file' as const, plan: { path: '/srv/lab/config/report.json', op: 'read' as const, bytes: 2048, fd: 300 + conn } }] : []),
        { kind: 'cpu', us: 100 + (i % 13) * 20 },
        { kind: 'query', plan: { sql: 'UPDATE users SET seen = now() WHERE id = $1', executeUs: 300, rows: 1, pgFd: 200 + conn, pgLocalPort: 45000 + conn } },
      ],
    };
    const built = buildRequest(plan);
    for (const e of built.events) events.push(e);
    if (i % 4 === 0) {
      const last = built.events[built.events.length - 1] as TraceEvent;
      events.push({ kind: EventKind.RunqDelay, tsNs: last.tsNs, requestId: '', pid: PIDS.app, tid: PIDS.app, fd: -1, delayNs: 40_000n });
    }
  }
  return { dir: 'synthetic', meta: captureMeta(), events, client: [], nginx: [], warnings: [] };
}

process.stderr.write(`building a synthetic capture of ${requests} requests…\n`);
const capture = syntheticCapture(requests);
gc?.();
const before = process.memoryUsage();
const started = process.hrtime.bigint();
const assembled = assembleCapture(capture);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const after = process.memoryUsage();
const spans = assembled.traces.reduce((n, t) => n + t.spans.length, 0);
gc?.();
const retained = process.memoryUsage();

const lines = [
  `requests            ${requests}`,
  `events              ${capture.events.length}`,
  `traces assembled    ${assembled.traces.length} (${spans} spans)`,
  `assembly time       ${seconds.toFixed(2)} s`,
  `traces per second   ${(assembled.traces.length / seconds).toFixed(0)}`,
  `events per second   ${(capture.events.length / seconds).toFixed(0)}`,
  `heap before         ${mb(before.heapUsed)} (the capture's events)`,
  `heap after          ${mb(after.heapUsed)} (before gc), ${mb(retained.heapUsed)} retained with the traces`,
  `peak RSS            ${mb(process.resourceUsage().maxRSS * 1024)}`,
  ...(gc ? [] : ['(run with node --expose-gc for the retained figure)']),
];
process.stdout.write(lines.join('\n') + '\n');
