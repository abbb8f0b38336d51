/**
 * Decoder throughput: events per second that tracer/decode-events.ts turns from loader records
 * into TraceEvents, for a lab-like mix (bench/lab-like-events.ts) and per group of record kinds,
 * and decoding followed by correlation: indexing every event by request, connection and thread
 * (assembler/index-capture.ts), the step before span trees are built.
 * Reports per wall second and per CPU second of this process (another process's load stretches
 * wall time, not CPU time; CPU time includes V8's helper threads, so pin the process with
 * `taskset -c N` for a one-core figure).
 *
 *   npx tsx bench/decode-throughput.ts [--events N] [--rounds R]
 */
import { indexCapture } from '../assembler/index-capture.ts';
import { decodeEvents } from '../tracer/decode-events.ts';
import { encodeEvent } from '../tracer/encode-event.ts';
import { EventKind, type TraceEvent } from '../tracer/event-types.ts';
import { parseBenchArgs } from './bench-args.ts';
import { labLikeEvents } from './lab-like-events.ts';

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

const decodeOnly = (buf: Buffer): number => decodeEvents(buf).events.length;
const decodeAndIndex = (buf: Buffer): number => {
  const { events } = decodeEvents(buf);
  indexCapture(events, 18080);
  return events.length;
};

function measure(name: string, events: readonly TraceEvent[], work: (buf: Buffer) => number = decodeOnly): void {
  const buf = Buffer.concat(events.map((e) => encodeEvent(e)));
  const n = events.length;
  work(buf); // warm-up
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
  // Best round and mean: a round that happens to see no young-generation GC flatters the best.
  console.log(
    `${name.padEnd(11)} ${(bestWall / 1e6).toFixed(2)} M events/s wall  ${((bestWall * bytesPerEvent) / 1e6).toFixed(0).padStart(4)} MB/s wall  ` +
      `${(bestCpu / 1e6).toFixed(2)} M events/CPU-s best, ${(mean / 1e6).toFixed(2)} mean  ` +
      `(${n} events, ${bytesPerEvent.toFixed(0)} B/event, ${ROUNDS} rounds)`,
  );
}

const mix = labLikeEvents(EVENTS);
measure('lab mix', mix);
for (const [name, keep] of Object.entries(GROUPS)) measure(name, mix.filter(keep));
measure('+ index', mix, decodeAndIndex);
