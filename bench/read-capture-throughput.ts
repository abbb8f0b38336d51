/**
 * Capture-reading throughput: records per second readCapture (tracer/read-capture.ts) returns from
 * a capture directory whose events.bin holds a lab-like mix (bench/lab-like-events.ts), file read
 * included. The capture is written to a temporary directory and removed at the end.
 *
 *   npx tsx bench/read-capture-throughput.ts [--events N] [--rounds R]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CAPTURE_VERSION, type CaptureMeta } from '../shared/capture-types.ts';
import { encodeEvent } from '../tracer/encode-event.ts';
import { CAPTURE_FILES, readCapture } from '../tracer/read-capture.ts';
import { parseBenchArgs } from './bench-args.ts';
import { labLikeEvents } from '../tracer/lab-like-events.ts';

const args = parseBenchArgs(process.argv.slice(2), [
  { name: 'events', min: 1, max: 10_000_000, default: 300_000, integer: true },
  { name: 'rounds', min: 1, max: 100, default: 5, integer: true },
]);
if (!args.ok) {
  process.stderr.write(`${args.error}\n`);
  process.exit(2);
}
const { events: EVENTS, rounds: ROUNDS } = args.values;

const meta: CaptureMeta = {
  version: CAPTURE_VERSION,
  createdAt: '2026-01-01T00:00:00.000Z',
  kernel: '6.18.0',
  source: 'bpf',
  hooks: { usdt: 'usdt', sockets: 'tracepoint', files: 'tracepoint' },
  clock: { monotonicNs: '1851697000000', realtimeNs: '1767225600000000000' },
  pids: { app: [8341], nginx: [8355], postgres: [8353] },
  ports: { proxy: 18080, app: 18081, postgres: 18082 },
  drops: { ringbuf: 0 },
  sample: 1,
  proxy: 'nginx',
  load: null,
};

const dir = mkdtempSync(join(tmpdir(), 'read-capture-bench-'));
try {
  const bin = Buffer.concat(labLikeEvents(EVENTS).map((e) => encodeEvent(e)));
  writeFileSync(join(dir, CAPTURE_FILES.meta), JSON.stringify(meta));
  writeFileSync(join(dir, CAPTURE_FILES.events), bin);
  await readCapture(dir); // warm-up
  const runs: string[] = [];
  let best = 0;
  let bestCpu = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const capture = await readCapture(dir);
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(c0);
    if (capture.events.length !== EVENTS || capture.warnings.length) {
      throw new Error(`read ${capture.events.length} of ${EVENTS} events, warnings: ${capture.warnings.join('; ')}`);
    }
    runs.push(`${(wall * 1000).toFixed(0)} ms`);
    best = Math.max(best, EVENTS / wall);
    bestCpu = Math.max(bestCpu, EVENTS / ((cpu.user + cpu.system) / 1e6));
  }
  console.log(
    `readCapture ${(best / 1e6).toFixed(2)} M records/s wall  ${((best * bin.length) / EVENTS / 1e6).toFixed(0)} MB/s wall  ` +
      `${(bestCpu / 1e6).toFixed(2)} M records/CPU-s  (${EVENTS} records, ${(bin.length / 1e6).toFixed(1)} MB; runs: ${runs.join(', ')})`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
