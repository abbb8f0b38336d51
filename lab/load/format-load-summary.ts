import type { LoadSummary } from './run-load.ts';

const ms = (v: number): string => (Number.isFinite(v) ? v.toFixed(3) : '-');

/** The summary as a table for people (latencies in ms). */
export function formatLoadSummary(s: LoadSummary): string {
  const lines = [
    `${s.responses} responses in ${s.durationS.toFixed(2)} s over ${s.connections} connections (mix ${s.mix}): ${s.requestsPerSecond.toFixed(1)} req/s`,
    `errors ${s.errors}, timeouts ${s.timeouts}, non-2xx ${s.non2xx}; status ${Object.entries(s.statusCounts)
      .map(([c, n]) => `${c}×${n}`)
      .join(' ')}`,
    '',
    `${'target'.padEnd(10)} ${'count'.padStart(8)} ${'p50 ms'.padStart(9)} ${'p90 ms'.padStart(9)} ${'p99 ms'.padStart(9)} ${'max ms'.padStart(9)}`,
    `${'all'.padEnd(10)} ${String(s.latencyMs.count).padStart(8)} ${ms(s.latencyMs.p50).padStart(9)} ${ms(s.latencyMs.p90).padStart(9)} ${ms(s.latencyMs.p99).padStart(9)} ${ms(s.latencyMs.max).padStart(9)}`,
  ];
  for (const [name, t] of Object.entries(s.byTarget).sort(([a], [b]) => a.localeCompare(b))) {
    if (!t) continue;
    lines.push(`${name.padEnd(10)} ${String(t.count).padStart(8)} ${ms(t.p50).padStart(9)} ${''.padStart(9)} ${ms(t.p99).padStart(9)}`);
  }
  lines.push('', `per-request latencies: ${s.latencyOut}`);
  return lines.join('\n');
}
