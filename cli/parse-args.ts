/**
 * The `lab` command line, as data: each command's options with their kinds and bounds,
 * and a pure parser from argv to a typed invocation or a one-line error.
 */
import { MIX_NAMES } from '../shared/mixes.ts';
import { POSTGRES_KINDS, PROBE_MODES, PROXY_KINDS } from '../shared/modes.ts';

export type OptionKind =
  | { kind: 'flag' }
  | { kind: 'int'; min: number; max: number }
  | { kind: 'number'; min: number; max: number }
  | { kind: 'string'; choices?: readonly string[] };

export interface OptionSpec {
  readonly name: string;
  readonly type: OptionKind;
  readonly help: string;
  readonly default?: string | number | boolean;
}

export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  /** Names of the positional arguments, in order; a trailing `?` marks one optional. */
  readonly positionals: readonly string[];
  readonly options: readonly OptionSpec[];
}

const int = (min: number, max: number): OptionKind => ({ kind: 'int', min, max });
const num = (min: number, max: number): OptionKind => ({ kind: 'number', min, max });
const str = (choices?: readonly string[]): OptionKind => (choices ? { kind: 'string', choices } : { kind: 'string' });
const flag: OptionKind = { kind: 'flag' };

export const EXPORT_FORMATS = ['text', 'svg', 'jaeger', 'otlp', 'chrome'] as const;

const loadOptions: readonly OptionSpec[] = [
  { name: 'duration', type: num(0.1, 3600), help: 'seconds of load (exclusive with --requests)' },
  { name: 'requests', type: int(1, 10_000_000), help: 'number of requests (exclusive with --duration)' },
  { name: 'connections', type: int(1, 1000), help: 'concurrent connections', default: 10 },
  { name: 'mix', type: str(MIX_NAMES), help: 'weighted endpoint mix', default: 'default' },
  { name: 'rate', type: int(1, 1_000_000), help: 'cap on requests per second (default: as fast as possible)' },
  { name: 'latency-out', type: str(), help: 'file for per-request client latencies (JSON lines)' },
  { name: 'knob', type: str(), help: "latency knobs on one target's requests: TARGET:QUERY[,…], e.g. users:db_delay_ms=10" },
  { name: 'json', type: flag, help: 'print the summary as JSON on stdout' },
];

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'up',
    summary: 'start PostgreSQL, the app and the proxy on loopback',
    positionals: [],
    options: [
      { name: 'proxy', type: str(PROXY_KINDS), help: 'proxy tier (default: nginx when installed)' },
      { name: 'usdt', type: str(PROBE_MODES), help: 'app probe backend', default: 'auto' },
      { name: 'postgres', type: str(POSTGRES_KINDS), help: "PostgreSQL server: Debian's, or the one from npm (default: system when installed)" },
    ],
  },
  { name: 'down', summary: 'stop every lab process', positionals: [], options: [] },
  {
    name: 'status',
    summary: 'which tiers run, their pids and ports',
    positionals: [],
    options: [{ name: 'json', type: flag, help: 'JSON on stdout' }],
  },
  {
    name: 'doctor',
    summary: 'system profile: kernel, BTF, privileges, which BPF hook kinds load here',
    positionals: [],
    options: [{ name: 'json', type: flag, help: 'JSON on stdout' }],
  },
  { name: 'load', summary: 'drive load through the proxy with autocannon; exit status 1 when requests failed (5xx, connection errors, timeouts)', positionals: [], options: loadOptions },
  {
    name: 'trace',
    summary: 'trace the lab (while running a load) into a capture directory',
    positionals: [],
    options: [
      { name: 'out', type: str(), help: 'capture directory (default: captures/<timestamp>)' },
      { name: 'sample', type: num(0, 1), help: 'fraction of requests traced in full', default: 1 },
      { name: 'families', type: str(), help: 'probe families: a,b (exactly these) or +a,b (the default set and these; files, sched, postgres, faults, offcpu, slowsys and netdev are opt-in for their cost)' },
      { name: 'slow-syscall-ms', type: int(1, 3_600_000), help: 'with the slowsys family: record syscalls of the lab at least this slow (default 10)' },
      { name: 'pg-detail', type: flag, help: "PostgreSQL's rewrite phase and commits too (two more traps per statement)" },
      { name: 'socket-hooks', type: str(['auto', 'tp_btf', 'syscalls']), help: 'socket hooks: the socket tracepoints (detected), or the syscall tracepoints they replace', default: 'auto' },
      { name: 'cpu-budget', type: num(0.01, 100), help: "keep tracing's cost under this % of the lab's CPU: the costliest family is shed when it stays above" },
      { name: 'keep-slower-than', type: int(1, 3_600_000), help: 'with --sample below 1: also keep requests that took at least this many ms in the app, or answered 5xx (the app side, DB round trips, kernel waits)' },
      { name: 'arrivals', type: flag, help: 'with --sample below 1: also record when bytes reached each socket (socket-buffer and accept-queue waits), for a program run per delivery to any socket' },
      { name: 'no-load', type: flag, help: 'trace whatever traffic arrives, for --duration seconds' },
      { name: 'metrics-port', type: int(1, 65535), help: 'serve Prometheus metrics on 127.0.0.1:PORT/metrics while tracing' },
      ...loadOptions,
    ],
  },
  {
    name: 'show',
    summary: 'print traces from a capture as text trees and terminal waterfalls',
    positionals: ['dir'],
    options: [
      { name: 'id', type: str(), help: 'one request id' },
      { name: 'slowest', type: int(1, 100_000), help: 'the N slowest requests' },
      { name: 'waterfall', type: flag, help: 'add a terminal waterfall under each tree' },
    ],
  },
  {
    name: 'export',
    summary: 'write traces from a capture in another format',
    positionals: ['dir'],
    options: [
      { name: 'format', type: str(EXPORT_FORMATS), help: 'output format', default: 'jaeger' },
      { name: 'out', type: str(), help: 'output file (default: stdout)' },
      { name: 'id', type: str(), help: 'one request id' },
      { name: 'slowest', type: int(1, 100_000), help: 'the N slowest requests' },
      { name: 'endpoint', type: str(), help: 'OTLP/HTTP base URL, e.g. http://127.0.0.1:4318' },
    ],
  },
  {
    name: 'baseline',
    summary: 'build a latency baseline from a capture',
    positionals: ['dir'],
    options: [{ name: 'out', type: str(), help: 'baseline file' }],
  },
  {
    name: 'analyze',
    summary: 'find anomalies in a capture and explain them',
    positionals: ['dir'],
    options: [
      { name: 'baseline', type: str(), help: 'baseline file (default: built from the capture itself)' },
      { name: 'json', type: flag, help: 'JSON on stdout' },
    ],
  },
  {
    name: 'compare',
    summary: 'compare two traces, or two captures (runs) with significance tests per route and span type',
    positionals: ['a', 'b'],
    options: [
      { name: 'json', type: flag, help: 'JSON on stdout' },
      { name: 'alpha', type: num(0.0001, 0.5), help: 'false discovery rate for two captures', default: 0.05 },
      { name: 'raw', type: flag, help: "two captures: test times as measured, not divided by B's run-wide factor" },
    ],
  },
  {
    name: 'changepoints',
    summary: "when a route's latency, or one layer's share of it, changed level within one capture",
    positionals: ['dir'],
    options: [
      { name: 'json', type: flag, help: 'JSON on stdout' },
      { name: 'min-segment', type: int(5, 1_000_000), help: 'fewest requests on either side of a change', default: 30 },
    ],
  },
  {
    name: 'validate',
    summary: 'cross-check traces against client, nginx, pg_stat_statements and ss',
    positionals: ['dir'],
    options: [{ name: 'json', type: flag, help: 'JSON on stdout' }],
  },
  {
    name: 'bench',
    summary: 'run a benchmark: overhead (tracing cost, interleaved at a fixed rate) or inject (latency injected at each layer, and where the trace put it)',
    positionals: ['name'],
    options: [
      { name: 'rounds', type: int(1, 50), help: 'interleaved rounds of every condition (default 5; 2 with --quick)' },
      { name: 'duration', type: num(1, 600), help: 'seconds of each fixed-rate run (default 15; 5 with --quick)' },
      { name: 'rate', type: int(1, 100_000), help: 'requests per second of the default-mix workload', default: 200 },
      { name: 'light-rate', type: int(1, 100_000), help: 'requests per second of the light workload (GET /api/users/7)', default: 800 },
      { name: 'saturate', type: num(0, 600), help: 'seconds of the saturated run after each fixed-rate run, 0: none (default 5; 2 with --quick)' },
      { name: 'conditions', type: str(), help: 'comma-separated condition keys (untraced, usdt, full, pg, 0.1, 0.01, 0.01+arrivals, keep, usdt+<family>, floor, floor+ports, floor+state)' },
      { name: 'workloads', type: str(), help: 'comma-separated workloads (mix, light)' },
      { name: 'breakdown', type: flag, help: "add a condition per family (the app's probes plus that family)" },
      { name: 'floor', type: flag, help: "add sample 0.01 with the socket programs stopping at entry, after their port check, and at the socket's state: what the hooks cost before their work" },
      { name: 'quick', type: flag, help: 'a short run: overhead, 2 rounds of 5 s, 2 s saturated; inject, one experiment per layer, 2 rounds' },
      { name: 'only', type: str(), help: 'inject: only these layers (app, event-loop, db, lock, file, disk, cpu, net-delay, net-loss, pool)' },
      { name: 'repeats', type: int(1, 50), help: 'inject: injected rounds per experiment (default 5; 2 with --quick)' },
      { name: 'disk-method', type: str(['auto', 'cgroup', 'preload']), help: "inject: slow PostgreSQL's disk by a cgroup write throttle or a preloaded fsync delay (auto: the cgroup where one can)", default: 'auto' },
      { name: 'budget', type: int(10, 86_400), help: 'stop starting rounds after this many seconds', default: 3600 },
      { name: 'out', type: str(), help: 'results folder (default bench/results/overhead or bench/results/inject)' },
    ],
  },
  {
    name: 'report',
    summary: 'an incident report (Markdown and one self-contained HTML page) of a capture',
    positionals: ['dir'],
    options: [
      { name: 'baseline', type: str(), help: 'a baseline capture directory (significance tests) or baseline file (quantiles)' },
      { name: 'out', type: str(), help: 'output directory (default: DIR/report)' },
    ],
  },
  { name: 'demo', summary: 'bring the lab up, trace a demo load, show a trace', positionals: [], options: [] },
  { name: 'help', summary: 'this help', positionals: ['command?'], options: [] },
];

export type OptionValue = string | number | boolean;

export interface Invocation {
  readonly command: string;
  readonly positionals: Readonly<Record<string, string>>;
  readonly options: Readonly<Record<string, OptionValue>>;
}

export type ParseResult = { ok: true; value: Invocation } | { ok: false; error: string };

function parseValue(spec: OptionSpec, raw: string): OptionValue | string {
  const t = spec.type;
  switch (t.kind) {
    case 'flag':
      return true;
    case 'int':
    case 'number': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) return `--${spec.name} expects a number, got '${raw}'`;
      if (t.kind === 'int' && !Number.isInteger(n)) return `--${spec.name} expects a whole number, got '${raw}'`;
      if (n < t.min || n > t.max) return `--${spec.name} must be between ${t.min} and ${t.max}, got ${raw}`;
      return n;
    }
    case 'string':
      if (t.choices && !t.choices.includes(raw)) {
        return `--${spec.name} must be one of ${t.choices.join(', ')}, got '${raw}'`;
      }
      return raw;
  }
}

/** Parses `lab` arguments (without the node/script prefix). Never throws, never reads the environment. */
export function parseArguments(argv: readonly string[]): ParseResult {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    return { ok: true, value: { command: 'help', positionals: {}, options: {} } };
  }
  const spec = COMMANDS.find((c) => c.name === name);
  if (!spec) return { ok: false, error: `unknown command '${name}' (try 'lab help')` };

  const options: Record<string, OptionValue> = {};
  const positionals: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] as string;
    if (arg === '--help' || arg === '-h') {
      return { ok: true, value: { command: 'help', positionals: { command: spec.name }, options: {} } };
    }
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const key = arg.slice(2, eq === -1 ? undefined : eq);
    const opt = spec.options.find((o) => o.name === key);
    if (!opt) return { ok: false, error: `'lab ${spec.name}' has no option --${key}` };
    if (key in options) return { ok: false, error: `--${key} given twice` };
    let raw: string;
    if (opt.type.kind === 'flag') {
      if (eq !== -1) return { ok: false, error: `--${key} takes no value` };
      raw = '';
    } else if (eq !== -1) {
      raw = arg.slice(eq + 1);
    } else {
      const next = rest[i + 1];
      if (next === undefined) return { ok: false, error: `--${key} needs a value` };
      raw = next;
      i++;
    }
    const value = parseValue(opt, raw);
    if (typeof value === 'string' && opt.type.kind !== 'string') return { ok: false, error: value };
    if (opt.type.kind === 'string' && value !== raw) return { ok: false, error: value as string };
    options[key] = value;
  }

  const named: Record<string, string> = {};
  const required = spec.positionals.filter((p) => !p.endsWith('?'));
  if (positionals.length < required.length) {
    return { ok: false, error: `'lab ${spec.name}' needs ${spec.positionals.map((p) => p.replace('?', '')).join(' ')}` };
  }
  if (positionals.length > spec.positionals.length) {
    return { ok: false, error: `'lab ${spec.name}' takes ${spec.positionals.length} argument(s), got ${positionals.length}` };
  }
  positionals.forEach((p, i) => {
    named[(spec.positionals[i] as string).replace('?', '')] = p;
  });

  if ('duration' in options && 'requests' in options) {
    return { ok: false, error: '--duration and --requests are exclusive' };
  }
  for (const o of spec.options) {
    if (!(o.name in options) && o.default !== undefined) options[o.name] = o.default;
  }
  return { ok: true, value: { command: spec.name, positionals: named, options } };
}

/** Renders help for one command, or the command list. */
export function formatHelp(command?: string): string {
  const spec = command ? COMMANDS.find((c) => c.name === command) : undefined;
  if (!spec) {
    const width = Math.max(...COMMANDS.map((c) => c.name.length));
    return [
      'usage: lab <command> [options]',
      '',
      ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
      '',
      "'lab <command> --help' shows a command's options.",
    ].join('\n');
  }
  const pos = spec.positionals.map((p) => (p.endsWith('?') ? `[${p.slice(0, -1)}]` : p.toUpperCase()));
  const lines = [`usage: lab ${spec.name}${pos.length ? ' ' + pos.join(' ') : ''}${spec.options.length ? ' [options]' : ''}`, '', spec.summary];
  if (spec.options.length) {
    lines.push('');
    for (const o of spec.options) {
      const t = o.type;
      const arg =
        t.kind === 'flag' ? '' : t.kind === 'string' ? (t.choices ? ` ${t.choices.join('|')}` : ' VALUE') : ` ${t.min}..${t.max}`;
      const def = o.default !== undefined && t.kind !== 'flag' ? ` (default ${o.default})` : '';
      lines.push(`  --${o.name}${arg}`.padEnd(34) + ` ${o.help}${def}`);
    }
  }
  return lines.join('\n');
}
