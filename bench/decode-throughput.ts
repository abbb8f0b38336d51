/**
 * Decoder and correlation throughput, events per second, for a lab-like mix
 * (bench/lab-like-events.ts) and per group of record kinds:
 *   decode      records → columns (tracer/event-table.ts): what `lab` reads a capture into
 *   + correlate columns → every row filed under its request, connection, thread, (pid, fd)
 *               (assembler/correlate-rows.ts): the step before span trees are built
 *   objects     records → one TraceEvent per row (tracer/decode-events.ts), what the span-tree
 *               builder reads, for comparison
 *   + index     objects plus the assembler's lookups as lists of events (assembler/index-capture.ts)
 * Reports per wall second and per CPU second of this process (another process's load stretches
 * wall time, not CPU time; CPU time includes V8's helper threads, so pin the process with
 * `taskset -c N` for a one-core figure), best round and mean over rounds.
 *
 *   node --expose-gc --import tsx bench/decode-throughput.ts [--events N] [--rounds R]
 *
 * Writes bench/results/decode-throughput.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { correlateRows } from '../assembler/correlate-rows.ts';
import { indexCapture } from '../assembler/index-capture.ts';
import { decodeEvents } from '../tracer/decode-events.ts';
import { decodeTable } from '../tracer/event-table-builder.ts';
import { encodeEvent } from '../tracer/encode-event.ts';
import { EventKind, type TraceEvent } from '../shared/event-types.ts';
import { parseBenchArgs } from './bench-args.ts';
import { labLikeEvents } from '../tracer/lab-like-events.ts';

const args = parseBenchArgs(process.argv.slice(2), [
  { name: 'events', min: 1, max: 10_000_000, default: 300_000, integer: true },
  { name: 'rounds', min: 1, max: 100, default: 7, integer: true },
]);
if (!args.ok) {
  process.stderr.write(`${args.error}\n`);
  process.exit(2);
}
const { events: EVENTS, rounds: ROUNDS } = args.values;

const GROUPS: Record<string, (e: TraceEvent) => boolean> = {
  'sock I/O': (e) => e.kind === EventKind.SockRecv || e.kind === EventKind.SockSend,
  'pg phase': (e) => e.kind === EventKind.PgPhase,
  'app USDT': (e) => e.kind <= EventKind.FileClose,
  'runq delay': (e) => e.kind === EventKind.RunqDelay,
};

const PROXY_PORT = 18080;
const decodeColumns = (buf: Buffer): number => decodeTable(buf).table.length;
const decodeAndCorrelate = (buf: Buffer): number => {
  const { table } = decodeTable(buf);
  correlateRows(table, PROXY_PORT);
  return table.length;
};
const decodeObjects = (buf: Buffer): number => decodeEvents(buf).events.length;
const decodeAndIndex = (buf: Buffer): number => {
  const { events } = decodeEvents(buf);
  indexCapture(events, PROXY_PORT);
  return events.length;
};

function measure(name: string, input: { buf: Buffer; n: number }, work: (buf: Buffer) => number): void {
  const { buf, n } = input;
  const c = process.cpuUsage();
  work(buf); // warm-up; the first call of a process is reported for the first row
  const firstCpu = process.cpuUsage(c);
  let bestWall = 0;
  let bestCpu = 0;
  let totalCpu = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const decoded = work(buf);
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(c0);
    if (decoded !== n) throw new Error(`decoded ${decoded} of ${n}`);
    const cpuS = (cpu.user + cpu.system) / 1e6;
    totalCpu += cpuS;
    bestWall = Math.max(bestWall, n / wall);
    bestCpu = Math.max(bestCpu, n / cpuS);
  }
  const bytesPerEvent = buf.length / n;
  const mean = (n * ROUNDS) / totalCpu;
  const firstRate = n / ((firstCpu.user + firstCpu.system) / 1e6);
  const first = firstCall ? `, ${(firstRate / 1e6).toFixed(2)} first call` : '';
  rows.push({ name, events: n, bytesPerEvent, bestPerWallS: bestWall, bestPerCpuS: bestCpu, meanPerCpuS: mean, ...(firstCall && { firstCallPerCpuS: firstRate }) });
  firstCall = false;
  // Best round and mean: a round that happens to see no young-generation GC flatters the best.
  console.log(
    `${name.padEnd(22)} ${(bestWall / 1e6).toFixed(2)} M events/s wall  ${((bestWall * bytesPerEvent) / 1e6).toFixed(0).padStart(4)} MB/s wall  ` +
      `${(bestCpu / 1e6).toFixed(2)} M events/CPU-s best, ${(mean / 1e6).toFixed(2)} mean${first}  ` +
      `(${n} events, ${bytesPerEvent.toFixed(0)} B/event, ${ROUNDS} rounds)`,
  );
}
let firstCall = true;
const rows: object[] = [];

// Records only: a capture is read from a file, with no event objects in the heap beforehand
// (their garbage-collection cost would otherwise land on whichever row runs next).
const inputs = (() => {
  const mix = labLikeEvents(EVENTS);
  const input = (events: readonly TraceEvent[]) => ({ buf: Buffer.concat(events.map((e) => encodeEvent(e))), n: events.length });
  return { mix: input(mix), groups: Object.entries(GROUPS).map(([name, keep]) => [name, input(mix.filter(keep))] as const) };
})();
(globalThis as { gc?: () => void }).gc?.();

measure('decode + correlate', inputs.mix, decodeAndCorrelate);
measure('decode', inputs.mix, decodeColumns);
for (const [name, input] of inputs.groups) measure(`decode ${name}`, input, decodeColumns);
measure('objects', inputs.mix, decodeObjects);
measure('objects + index', inputs.mix, decodeAndIndex);

mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
writeFileSync(
  join(import.meta.dirname, 'results', 'decode-throughput.json'),
  JSON.stringify({ measuredAt: new Date().toISOString(), rounds: ROUNDS, rows }, null, 2) + '\n',
);
