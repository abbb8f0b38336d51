/**
 * Trace assembly throughput and memory on a capture as `lab show` and `lab export` read one:
 * a synthetic capture (nginx → app → PostgreSQL events for N requests over keep-alive
 * connections, 2 queries each, some file I/O and run-queue noise) is written as loader records to
 * a capture directory by a child process (once per N, under the system's temporary directory),
 * then read with readCapture and assembled. The traces are streamed (assembleTraces, each let go
 * once counted) or, with `--hold`, all kept as assembleCapture returns them. Peak RSS is this
 * process's: reading and assembling, not writing.
 *
 *   node --expose-gc --import tsx bench/assemble-throughput.ts [requests=100000] [--hold]
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assembleTraces } from '../assembler/build-span-tree.ts';
import { buildRequest, captureMeta, fixtureId, PIDS, type RequestPlan } from '../assembler/fixtures/scenario-builder.ts';
import type { Trace } from '../assembler/span.ts';
import { encodeEvent } from '../tracer/encode-event.ts';
import { EventKind, type TraceEvent } from '../shared/event-types.ts';
import { CAPTURE_FILES, readCapture } from '../tracer/read-capture.ts';
import { CLI_NODE_OPTIONS } from '../shared/node-options.mjs';

const args = process.argv.slice(2);
const hold = args.includes('--hold');
const writeTo = args.includes('--write') ? args[args.indexOf('--write') + 1] : undefined;
const requests = Number(args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--write') ?? 100_000);
if (!Number.isInteger(requests) || requests < 1 || requests > 2_000_000) {
  process.stderr.write(`assemble-throughput: requests must be 1..2000000, got '${process.argv[2]}'\n`);
  process.exit(2);
}
// Measured as `lab show` runs: with the CLI's node options (its young generation's size).
const missing = CLI_NODE_OPTIONS.filter((o) => !process.execArgv.includes(o));
if (missing.length > 0 && writeTo === undefined) {
  const r = spawnSync(process.execPath, [...missing, ...process.execArgv, import.meta.filename, ...args], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
const gc = (globalThis as { gc?: () => void }).gc;
const mb = (n: number): string => `${(n / 1048576).toFixed(0)} MiB`;

/** Records are gathered and written this many bytes at a time. */
const CHUNK_BYTES = 16 * 1024 * 1024;

/** Writes the synthetic capture of `n` requests to `dir` (meta.json, events.bin). */
function writeSyntheticCapture(n: number, dir: string): void {
  mkdirSync(dir, { recursive: true });
  const fd = openSync(join(dir, CAPTURE_FILES.events), 'w');
  let records: Buffer[] = [];
  let pending = 0;
  const flush = (): void => {
    writeSync(fd, Buffer.concat(records));
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
  closeSync(fd);
  writeFileSync(join(dir, CAPTURE_FILES.meta), JSON.stringify(captureMeta(), null, 2));
}

if (writeTo !== undefined) {
  writeSyntheticCapture(requests, writeTo);
  process.exit(0);
}

const dir = join(tmpdir(), `reqtrace-assemble-bench-${requests}`);
if (!existsSync(join(dir, CAPTURE_FILES.meta))) {
  process.stderr.write(`writing a synthetic capture of ${requests} requests to ${dir}…\n`);
  const partial = `${dir}.partial`;
  const r = spawnSync(process.execPath, [...process.execArgv, import.meta.filename, String(requests), '--write', partial], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(1);
  renameSync(partial, dir);
}
const readStarted = process.hrtime.bigint();
const capture = await readCapture(dir);
const readSeconds = Number(process.hrtime.bigint() - readStarted) / 1e9;
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
  `node options        ${CLI_NODE_OPTIONS.join(' ')} (as lab runs)`,
  `events              ${capture.events.length}, read in ${readSeconds.toFixed(2)} s`,
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
