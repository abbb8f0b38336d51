/**
 * `lab bench inject`'s results as data, and as Markdown: one row per experiment (where the trace
 * put the injected time, how much, against what was injected), the attribution accuracy, `lab
 * analyze`'s verdict on each injected request, `lab validate`'s cross-checks per capture, what
 * was skipped and why. Pure.
 */
import type { CheckResult } from '../assembler/validate-trace.ts';
import type { InjectLayer } from './inject-matrix.ts';
import type { ExperimentSummary, ExperimentVerdict, SummaryPart } from './inject-verdict.ts';

export interface InjectExperimentResult {
  readonly name: string;
  readonly layer: InjectLayer;
  /** What was injected, in words, with the amount. */
  readonly injected: string;
  readonly method: string;
  /** The capture, relative to the results folder. */
  readonly capture: string;
  /** The capture's completeness: what it lacks, if anything (meta.json). */
  readonly missing: readonly string[];
  readonly durationS: number;
  readonly summary: ExperimentSummary;
  readonly verdict: ExperimentVerdict;
  readonly validation: readonly CheckResult[];
  /** What the fault's own side counted. */
  readonly faultNotes: readonly string[];
}

export interface InjectReport {
  readonly measuredAt: string;
  readonly settings: { readonly quick: boolean; readonly repeats: number; readonly layers: readonly InjectLayer[] };
  readonly machine: { readonly cpus: number; readonly kernel: string; readonly node: string; readonly loadavgAtStart: readonly number[]; readonly loadavgAtEnd: readonly number[] };
  readonly methods: readonly { readonly layer: InjectLayer; readonly method: string }[];
  readonly skipped: readonly { readonly layer: InjectLayer; readonly reason: string }[];
  readonly baseline: { readonly capture: string; readonly requests: number };
  readonly experiments: readonly InjectExperimentResult[];
  readonly accuracy: { readonly passed: number; readonly total: number; readonly share: number };
  readonly detectors: { readonly ok: number; readonly total: number };
  /** Normal requests with a finding of at least significantMs. */
  readonly falseAlarms: { readonly requests: number; readonly normalRequests: number; readonly significantMs: number };
  readonly durationS: number;
  /** Undo steps that failed, one line each (empty: everything made was removed). */
  readonly cleanupFailures: readonly string[];
  readonly warnings: readonly string[];
}

const ms = (v: number): string => v.toFixed(1);
const pct = (share: number): string => `${(share * 100).toFixed(share === 1 || share === 0 ? 0 : 1)}%`;
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** Short column names for `lab validate`'s checks. */
const CHECK_COLUMNS: readonly [RegExp, string][] = [
  [/^root span not longer than the client saw$/, 'root ≤ client'],
  [/^root span vs client-observed latency$/, 'root vs client'],
  [/^root span vs nginx request_time$/, 'root vs nginx'],
  [/^upstream spans vs nginx upstream_response_time$/, 'upstream vs nginx'],
  [/^DB execute mean vs pg_stat_statements/, 'execute vs pg_stat_statements'],
  [/^DB plan mean vs pg_stat_statements/, 'plan vs pg_stat_statements'],
  [/^network transit vs ss minrtt/, 'transit vs ss minrtt'],
];

const columnOf = (name: string): string => CHECK_COLUMNS.find(([re]) => re.test(name))?.[1] ?? name;

const BASIS_NOTE: Readonly<Record<SummaryPart['basis'], string>> = {
  injected: '',
  'trace-total': ' (its extra time)',
  'pg-log': " (PostgreSQL's log)",
  schedstat: ' (schedstat)',
  'blocker-loop': " (blocker's loop)",
  'pool-handoff': ' (handoffs)',
};

/** A part's cells; the role leads when the experiment has more than one part. */
function partCells(p: SummaryPart, many: boolean): { where: string; measured: string; expected: string; tolerance: string } {
  const who = many ? `${p.role}: ` : '';
  return {
    where: `${who}${p.location}`,
    measured: `${who}${ms(p.measuredMs.median)} (${ms(p.measuredMs.min)}..${ms(p.measuredMs.max)})`,
    expected: `${who}${ms(p.expectedMs)}${BASIS_NOTE[p.basis]}`,
    tolerance: `${who}±${ms(p.toleranceMs)}`,
  };
}

/** One progress line for an experiment's result. */
export function summaryLine(name: string, s: ExperimentSummary): string {
  const parts = s.parts.map((p) => `${s.parts.length > 1 ? `${p.role} ` : ''}${ms(p.measuredMs.median)} ms (expected ${ms(p.expectedMs)} ± ${ms(p.toleranceMs)}) at ${p.location}`);
  return `${name}: ${s.pass ? 'pass' : 'FAIL'} ${s.passed}/${s.total}, ${parts.join('; ')}; detector ${s.detectorsOk}/${s.total}`;
}

/** The results as a Markdown page. */
export function renderInjectMarkdown(r: InjectReport): string {
  const out: string[] = [];
  out.push('# Latency injection: where the trace put the time', '');
  out.push(
    `Measured ${r.measuredAt} on ${r.machine.cpus} CPUs (kernel ${r.machine.kernel}, node ${r.machine.node}, load average ${r.machine.loadavgAtStart.join(' ')} → ${r.machine.loadavgAtEnd.join(' ')}). ` +
      `Matrix: ${r.settings.quick ? 'quick (one experiment per layer)' : 'full'}, ${r.settings.repeats} round(s) per experiment; ${r.experiments.length} experiment(s) in ${Math.round(r.durationS)} s. ` +
      `Detectors judged against a baseline of ${r.baseline.requests} traced normal requests (${r.baseline.capture}).`,
    '',
  );
  out.push(
    `**Attribution accuracy: ${r.accuracy.passed} of ${r.accuracy.total} injected requests (${pct(r.accuracy.share)})** had the injected time at the expected place of their span tree, within tolerance. ` +
      `\`lab analyze\` named the fault for ${r.detectors.ok} of ${r.detectors.total}; ${r.falseAlarms.requests} of the ${r.falseAlarms.normalRequests} normal requests drew a finding of ${r.falseAlarms.significantMs} ms or more.`,
    '',
  );
  out.push(
    '"Measured" is the time at that place in the injected request\'s trace minus its median in the normal requests sent beside it (same route, same capture). "Expected" is the amount injected where the injection fixes it; otherwise it is read from an account of its own: (PostgreSQL\'s log) the statement\'s duration as PostgreSQL logged it, (schedstat) the kernel\'s count of the app thread\'s run-queue time during the request — both compared with the trace\'s time there as it is, which must also hold the injected part —, (blocker\'s loop) what was left of the blocking loop when the request\'s bytes arrived, (handoffs) how long no connection of the pool was free for it, from when the requests holding them ended their last DB query, (its extra time) the request\'s whole extra time in its trace. A request passes when the two differ by no more than the tolerance and the trace shows what the fault must leave (retransmits, file bytes).',
    '',
  );
  out.push('| experiment | injected | where the trace put it | measured ms (median, min..max) | expected ms | tolerance ms | pass |');
  out.push('|---|---|---|---:|---:|---:|---|');
  for (const e of r.experiments) {
    const s = e.summary;
    const cells = s.parts.map((p) => partCells(p, s.parts.length > 1));
    const join = (k: keyof (typeof cells)[number]): string => cells.map((c) => cell(c[k])).join('<br>');
    out.push(`| ${cell(e.name)} | ${cell(e.injected)} | ${join('where')} | ${join('measured')} | ${join('expected')} | ${join('tolerance')} | ${s.pass ? 'pass' : 'FAIL'} ${s.passed}/${s.total} |`);
  }
  out.push('');

  out.push('## `lab analyze` on the injected and the normal requests', '');
  out.push('| experiment | finding expected | right detector fired | kinds fired on the injected requests | false alarms on normal requests |');
  out.push('|---|---|---:|---|---|');
  for (const e of r.experiments) {
    const v = e.verdict;
    const expected = [...new Set(v.requests.flatMap((q) => q.detector.expected))].join(' or ');
    const fired = [...new Set(v.requests.flatMap((q) => q.detector.fired))].join(', ') || '–';
    const alarmed = new Set(v.falseAlarms.map((f) => f.requestId)).size;
    const kinds = [...new Set(v.falseAlarms.map((f) => f.kind))].map((k) => `${k} up to +${ms(Math.max(...v.falseAlarms.filter((f) => f.kind === k).map((f) => f.excessMs)))} ms`);
    const alarms = alarmed === 0 ? `0 of ${v.controls.sent}` : `${alarmed} of ${v.controls.sent}: ${kinds.join(', ')}`;
    out.push(`| ${cell(e.name)} | ${cell(expected)} | ${e.summary.detectorsOk}/${e.summary.total} | ${cell(fired)} | ${cell(alarms)} |`);
  }
  out.push('');

  const columns = [...new Set(r.experiments.flatMap((e) => e.validation.map((c) => columnOf(c.name))))];
  if (columns.length > 0) {
    out.push('## `lab validate` on each capture', '');
    out.push('Within tolerance / compared, per check (see `lab validate` for the tolerances); every request of the capture, normal ones included.', '');
    out.push(`| experiment | ${columns.join(' | ')} |`);
    out.push(`|---|${columns.map(() => '---:').join('|')}|`);
    for (const e of r.experiments) {
      const byColumn = new Map(e.validation.map((c) => [columnOf(c.name), c]));
      out.push(`| ${cell(e.name)} | ${columns.map((c) => {
        const x = byColumn.get(c);
        return x && x.compared > 0 ? `${x.within}/${x.compared}` : '–';
      }).join(' | ')} |`);
    }
    out.push('');
  }

  out.push('## Per request', '');
  for (const e of r.experiments) {
    out.push(`### ${e.name}`, '');
    out.push(`${e.injected}. Method: ${e.method}. Capture: \`${e.capture}\`${e.missing.length ? ` (incomplete: ${e.missing.join('; ')})` : ''}; ${Math.round(e.durationS)} s.`, '');
    out.push('| request | role | measured ms | expected ms | client +ms | largest change in the trace | spans | findings | verdict |');
    out.push('|---|---|---:|---:|---:|---|---|---|---|');
    for (const q of e.verdict.requests) {
      const top = q.topComponent ? `${q.topComponent.label} +${ms(q.topComponent.excessMs)}` : '–';
      const where = q.where.length > 0 ? q.where.join('; ') : '–';
      out.push(
        `| ${q.requestId.slice(0, 8)} | ${q.role} | ${ms(q.measuredMs)} | ${ms(q.expectedMs)} ±${ms(q.toleranceMs)} | ${ms(q.clientExcessMs)} | ${cell(top)} | ${cell(where)}${q.retransmits ? ` (${q.retransmits} retransmit(s))` : ''} | ${q.detector.fired.join(', ') || '–'} | ${q.pass ? 'pass' : `FAIL: ${cell(q.failures.join('; '))}`} |`,
      );
    }
    if (e.faultNotes.length > 0) out.push('', ...e.faultNotes.map((n) => `- ${n}`));
    out.push('');
  }

  out.push('## Methods', '');
  for (const m of r.methods) out.push(`- **${m.layer}**: ${m.method}`);
  out.push('');
  if (r.skipped.length > 0) {
    out.push('## Skipped', '');
    for (const s of r.skipped) out.push(`- **${s.layer}**: ${s.reason}`);
    out.push('');
  }
  if (r.warnings.length > 0 || r.cleanupFailures.length > 0) {
    out.push('## Warnings', '');
    for (const w of r.warnings) out.push(`- ${w}`);
    for (const c of r.cleanupFailures) out.push(`- cleanup failed: ${c}`);
    out.push('');
  }
  return out.join('\n');
}
