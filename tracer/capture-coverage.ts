/**
 * What a BPF capture shows less of by design, from the hooks that ran and the options: meta.json
 * `coverage`, one sentence each, so a reader knows a missing span is a choice and not a loss.
 * The costs behind each choice are measured by `lab bench overhead` (README, "Tracing cost"). Pure.
 */

export interface CoverageFacts {
  /** family → hook kind, as the loader reported it (meta.hooks). */
  readonly hooks: Readonly<Record<string, string>>;
  readonly sample: number;
  readonly pgDetail: boolean;
}

export function captureCoverage(f: CoverageFacts): string[] {
  const out: string[] = [];
  if (f.hooks.usdt && !f.hooks.files) {
    out.push(
      'files: each file the app opened is a span from open to close (its probes); the reads and writes inside need `--families +files`, whose syscall tracepoints send every syscall of every task through the slow path',
    );
  }
  const sockets = f.hooks.sockets;
  if (sockets && sockets !== 'syscall-tracepoints' && f.sample < 1) {
    out.push("sockets: while sampling, a receive's span starts at its end (its start costs a program run for every packet copied, paid only at --sample 1)");
  }
  if (f.hooks.postgres) {
    out.push('postgres: the probes trap in every PostgreSQL process of the binary while tracing, sampled or not; only the lab\'s are recorded');
    if (!f.pgDetail) out.push('postgres: no rewrite phase or commits (`--pg-detail`: two more traps per statement)');
  }
  return out;
}
