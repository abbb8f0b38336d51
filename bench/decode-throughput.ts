/**
 * Decoder throughput: events per second that tracer/decode-events.ts turns from loader records
 * into TraceEvents on one core, for a lab-like mix (mostly socket I/O) and per record kind.
 * Reports per wall second and per CPU second of this process (the honest figure on a busy
 * machine: another process's load stretches wall time, not CPU time).
 *
 *   npx tsx bench/decode-throughput.ts [--events N] [--rounds R]
 */
import { decodeEvents } from '../tracer/decode-events.ts';
import { encodeEvent } from '../tracer/encode-event.ts';
import { EventKind, type TraceEvent, type Tuple } from '../tracer/event-types.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive whole number`);
  return v;
}

const EVENTS = arg('--events', 200_000);
const ROUNDS = arg('--rounds', 5);
const tuple: Tuple = { localAddress: '127.0.0.1', localPort: 23001, remoteAddress: '127.0.0.1', remotePort: 40000, family: 'ipv4' };
const h = (i: number) => ({ tsNs: 1_000_000_000n + BigInt(i) * 1000n, requestId: (i % 997).toString(16).padStart(32, '0'), pid: 4242, tid: 4242, fd: 21 });

const SAMPLES: Record<string, (i: number) => TraceEvent> = {
  sockIo: (i) => ({ ...h(i), kind: EventKind.SockRecv, durationNs: 5000n, bytes: 211n, arrivalNs: 999n, syscallNr: 0, tuple }),
  requestStart: (i) => ({ ...h(i), kind: EventKind.RequestStart, method: 'GET', path: '/api/users/42' }),
  dbQueryStart: (i) => ({ ...h(i), kind: EventKind.DbQueryStart, query: 'SELECT id, name, email FROM users ORDER BY id LIMIT $1 OFFSET $2' }),
  fileIo: (i) => ({ ...h(i), kind: EventKind.FileRead, durationNs: 2000n, bytes: 4096n, inode: 123n, syscallNr: 17 }),
  pgPhase: (i) => ({ ...h(i), kind: EventKind.PgPhase, phase: 5, durationNs: 12000n, detail0: 0n, detail1: 0n }),
};

/** Per request in the lab: ~12 socket records, 2 queries, start/end, a few pg phases. */
function labMix(i: number): TraceEvent {
  const slot = i % 20;
  if (slot < 12) return SAMPLES.sockIo!(i);
  if (slot < 14) return SAMPLES.dbQueryStart!(i);
  if (slot < 16) return SAMPLES.requestStart!(i);
  if (slot < 18) return SAMPLES.pgPhase!(i);
  return SAMPLES.fileIo!(i);
}

function measure(name: string, make: (i: number) => TraceEvent): void {
  const buf = Buffer.concat(Array.from({ length: EVENTS }, (_, i) => encodeEvent(make(i))));
  decodeEvents(buf); // warm-up
  let bestWall = 0;
  let bestCpu = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const { events } = decodeEvents(buf);
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(c0);
    if (events.length !== EVENTS) throw new Error(`decoded ${events.length} of ${EVENTS}`);
    bestWall = Math.max(bestWall, EVENTS / wall);
    bestCpu = Math.max(bestCpu, EVENTS / ((cpu.user + cpu.system) / 1e6));
  }
  const bytesPerEvent = buf.length / EVENTS;
  console.log(
    `${name.padEnd(14)} ${(bestCpu / 1e6).toFixed(2)} M events/CPU-s  ${(bestWall / 1e6).toFixed(2)} M events/s wall  ` +
      `${((bestCpu * bytesPerEvent) / 1e6).toFixed(0)} MB/CPU-s  (${EVENTS} events, best of ${ROUNDS})`,
  );
}

measure('lab mix', labMix);
for (const [name, make] of Object.entries(SAMPLES)) measure(name, make);
