/**
 * Trace assembly throughput and memory: builds a synthetic capture (nginx → app → PostgreSQL
 * events for N requests over keep-alive connections, 2 queries each, some file I/O and
 * run-queue noise) as a capture read from disk holds it (loader records decoded into the event
 * table, tracer/event-table-builder.ts), then times its assembly and reports peak memory: the
 * traces streamed as `lab show` and `lab export` read them (assembleTraces, each trace let go once
 * counted), and with `--hold` all kept, as assembleCapture returns them.
 *
 *   node --expose-gc --import tsx bench/assemble-throughput.ts [requests=100000] [--hold]
 */
import { assembleTraces } from '../assembler/build-span-tree.ts';
import type { Trace } from '../assembler/span.ts';
import { buildRequest, captureMeta, fixtureId, PIDS, type RequestPlan } from '../assembler/fixtures/scenario-builder.ts';
import type { Capture } from '../tracer/capture-types.ts';
import { encodeEvent } from '../tracer/encode-event.ts';
import { EventTableBuilder } from '../tracer/event-table-builder.ts';
import { EventKind, type TraceEvent } from '../tracer/event-types.ts';

const args = process.argv.slice(2);
const hold = args.includes('--hold');
const requests = Number(args.find((a) => a !== '--hold') ?? 100_000);
if (!Number.isInteger(requests) || requests < 1 || requests > 2_000_000) {
  process.stderr.write(`assemble-throughput: requests must be 1..2000000, got '${process.argv[2]}'\n`);
  process.exit(2);
}
const gc = (globalThis as { gc?: () => void }).gc;
const mb = (n: number): string => `${(n / 1048576).toFixed(0)} MiB`;

/** Records are encoded and decoded this many bytes at a time, as readCapture reads events.bin. */
const CHUNK_BYTES = 16 * 1024 * 1024;

function syntheticCapture(n: number): Capture {
  const builder = new EventTableBuilder();
  let records: Buffer[] = [];
  let pending = 0;
  let offset = 0;
  const flush = (): void => {
    const chunk = Buffer.concat(records);
    const r = builder.append(chunk, offset);
    if (r.warnings.length > 0 || r.remainder.length > 0) throw new Error(`synthetic records did not decode whole: ${r.warnings.join('; ')}`);
    offset += chunk.length;
    records = [];
    pending = 0;
  };
  const add = (e: TraceEvent): void => {
    const b = encodeEvent(e);
    records.push(b);
    pending += b.length;
    if (pending >= CHUNK_BYTES) flush();
  };
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
    for (const e of built.events) add(e);
    if (i % 4 === 0) {
      const last = built.events[built.events.length - 1] as TraceEvent;
      add({ kind: EventKind.RunqDelay, tsNs: last.tsNs, requestId: '', pid: PIDS.app, tid: PIDS.app, fd: -1, delayNs: 40_000n });
    }
  }
  flush();
  return { dir: 'synthetic', meta: captureMeta(), events: builder.finish(), client: [], nginx: [], warnings: [] };
}

process.stderr.write(`building a synthetic capture of ${requests} requests…\n`);
const capture = syntheticCapture(requests);
gc?.();
const before = process.memoryUsage();
const started = process.hrtime.bigint();
const held: Trace[] = [];
let traces = 0;
let spans = 0;
for (const t of assembleTraces(capture).traces) {
  traces++;
  spans += t.spans.length;
  if (hold) held.push(t);
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const after = process.memoryUsage();
gc?.();
const retained = process.memoryUsage();

const lines = [
  `requests            ${requests}`,
  `events              ${capture.events.length}`,
  `traces assembled    ${traces} (${spans} spans), ${hold ? 'all held' : 'streamed'}`,
  `assembly time       ${seconds.toFixed(2)} s`,
  `traces per second   ${(traces / seconds).toFixed(0)}`,
  `events per second   ${(capture.events.length / seconds).toFixed(0)}`,
  `heap before         ${mb(before.heapUsed)} (the capture's event table: ${mb(before.arrayBuffers)} of records and columns outside the heap)`,
  `heap after          ${mb(after.heapUsed)} (before gc), ${mb(retained.heapUsed)} retained${hold ? ` with ${held.length} traces` : ''}`,
  `peak RSS            ${mb(process.resourceUsage().maxRSS * 1024)}`,
  ...(gc ? [] : ['(run with node --expose-gc for the retained figure)']),
];
process.stdout.write(lines.join('\n') + '\n');
