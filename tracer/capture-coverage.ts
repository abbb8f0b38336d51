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
  /** `--arrivals`: the data-ready hook runs while sampling too. */
  readonly arrivals?: boolean;
  /** The lab's PostgreSQL server has USDT probes (the postgres family could have run). */
  readonly pgProbes?: boolean;
  /** `--keep-slower-than`: the app fires its probes for every request, provisionally. */
  readonly keepSlowerThanMs?: number;
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
    out.push("sockets: while sampling, a send's or receive's span starts at its end (the start hooks run for every packet on the machine and are attached only at --sample 1)");
    if (!f.arrivals) {
      out.push(
        'sockets: while sampling, no arrival times, so no socket-buffer or accept-queue waits (the data-ready hook runs for every delivery to a socket on the machine, ~1–4 µs of CPU a request on the default mix, up to ~0.15%); `--arrivals` records them',
      );
    }
  }
  if (f.hooks.blockio && f.hooks.usdt && f.sample < 1) {
    out.push('blockio: while sampling, only block requests queued while the app served a sampled request (the disk activity around the others is left out)');
  }
  if (f.hooks.usdt && f.sample < 1 && f.keepSlowerThanMs === undefined) {
    out.push("requests outside the sample fire none of the app's probes; their traces come from nginx's access log alone");
  }
  if (f.hooks.usdt && f.sample < 1 && f.keepSlowerThanMs !== undefined) {
    out.push(`requests outside the sample that end faster than ${f.keepSlowerThanMs} ms and not 5xx keep only their start and end`);
  }
  if (f.pgProbes && !f.hooks.postgres) {
    out.push(
      "postgres: no statement phases (parse, plan, execute), lock waits or reads inside PostgreSQL: `--families +postgres` adds them, but each of its probe hits is a breakpoint trap in the backend (about 15 a request on the default mix; `lab doctor` measures one here), paid by every statement, sampled or not; a query's database time is the app's view of it, sent → result readable",
    );
  }
  if ((f.hooks.usdt || f.hooks.postgres) && !f.hooks.sched) {
    out.push(
      "sched: run-queue waits are the schedstat sums the app's and PostgreSQL's records carry, each placed at the end of the interval it was counted in; `--families +sched` times every wait, for two program runs per context switch of the machine",
    );
  }
  const optIn = ([
    ['faults', 'major page faults'],
    ['offcpu', 'sleeps and futex waits, so time on CPU'],
    ['slowsys', 'slow syscalls'],
    ['netdev', "packets' time in the device queue"],
  ] as const).filter(([family]) => !f.hooks[family]);
  if (f.hooks.usdt && optIn.length > 0) {
    out.push(
      `not traced (opt-in, their hooks run for every fault, context switch, syscall or packet of the machine): ${optIn.map(([family, what]) => `${family} (${what})`).join(', ')}; \`--families +NAME\` adds them`,
    );
  }
  if (f.hooks.postgres) {
    out.push('postgres: the probes trap in every PostgreSQL process of the binary while tracing, sampled or not; only the lab\'s are recorded');
    if (!f.pgDetail) out.push('postgres: no rewrite phase or commits (`--pg-detail`: two more traps per statement)');
  }
  return out;
}
