/**
 * Run-queue delays arrive untagged (the scheduler knows threads, not requests). A delay counts
 * against a span when it overlaps the span's interval on a thread the span ran on:
 *
 *   span          |=========================|
 *   runq delays      [--]        [-----]       [--]     ← ts is each delay's end
 *   counted          ^^^^        ^^^^^^^             (only the overlapping part)
 */
import type { RunqDelayEvent } from './index-capture.ts';
import type { SpanLog } from './span.ts';
import { lowerBound, maxBig, minBig } from './event-time.ts';

export interface RunqAttribution {
  /** Sum of the overlapping parts, ns. */
  readonly totalNs: bigint;
  readonly count: number;
  /** Delays of at least `logThresholdNs`, as span logs (at most `maxLogs`). */
  readonly logs: readonly SpanLog[];
}

const NONE: RunqAttribution = Object.freeze({ totalNs: 0n, count: 0, logs: Object.freeze([]) });

/**
 * The run-queue delay of `delays` (one thread's or one process's, sorted by end time; no delay
 * longer than `maxDelayNs`) that overlaps [startNs, endNs].
 */
export function attributeRunqDelay(
  delays: readonly RunqDelayEvent[] | undefined,
  maxDelayNs: bigint,
  startNs: bigint,
  endNs: bigint,
  logThresholdNs = 50_000n,
  maxLogs = 16,
): RunqAttribution {
  if (!delays || delays.length === 0 || endNs <= startNs) return NONE;
  let totalNs = 0n;
  let count = 0;
  const logs: SpanLog[] = [];
  // No delay ending this late began before the end.
  const pastEnd = endNs + maxDelayNs;
  for (let i = lowerBound(delays, (d) => d.tsNs > startNs); i < delays.length; i++) {
    const d = delays[i] as RunqDelayEvent;
    if (d.tsNs >= pastEnd) break;
    const overlap = minBig(d.tsNs, endNs) - maxBig(d.tsNs - d.delayNs, startNs);
    if (overlap <= 0n) continue;
    totalNs += overlap;
    count++;
    if (d.delayNs >= logThresholdNs && logs.length < maxLogs) {
      logs.push({ tsNs: d.tsNs, fields: { event: 'runqueue delay', 'kernel.runq_delay_ns': Number(d.delayNs), 'thread.id': d.tid } });
    }
  }
  return count === 0 ? NONE : { totalNs, count, logs };
}
