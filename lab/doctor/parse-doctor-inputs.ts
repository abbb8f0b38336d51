/** Pure readers for what `lab doctor` collects from /proc, readelf, hook-probe and bpftrace. */

/** Capability bits (linux/capability.h). */
export const CAP_SYS_ADMIN = 21;
export const CAP_PERFMON = 38;
export const CAP_BPF = 39;

export interface Capabilities {
  /** CapEff as printed, 16 hex digits. */
  readonly capEff: string;
  readonly bpf: boolean;
  readonly perfmon: boolean;
  readonly sysAdmin: boolean;
}

/** Reads CapEff from /proc/self/status text; null when the line is missing or malformed. */
export function parseCapEff(statusText: string): Capabilities | null {
  const m = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(statusText);
  if (!m?.[1]) return null;
  const bits = BigInt(`0x${m[1]}`);
  const has = (cap: number): boolean => ((bits >> BigInt(cap)) & 1n) === 1n;
  return { capEff: m[1].toLowerCase(), bpf: has(CAP_BPF), perfmon: has(CAP_PERFMON), sysAdmin: has(CAP_SYS_ADMIN) };
}

export interface SdtProbe {
  readonly provider: string;
  readonly name: string;
}

/** USDT probes listed by `readelf -n` (the .note.stapsdt section). */
export function parseStapsdtNotes(readelfOutput: string): SdtProbe[] {
  const probes: SdtProbe[] = [];
  let provider: string | null = null;
  for (const line of readelfOutput.split('\n')) {
    const p = /^\s*Provider:\s*(\S+)/.exec(line);
    if (p?.[1]) {
      provider = p[1];
      continue;
    }
    const n = /^\s*Name:\s*(\S+)/.exec(line);
    if (n?.[1] && provider !== null) {
      probes.push({ provider, name: n[1] });
      provider = null;
    }
  }
  return probes;
}

export interface HookKinds {
  /** Hook kind → loads and runs here. */
  readonly kinds: Readonly<Record<string, boolean>>;
  /** Hook kind → why it does not. */
  readonly errors: Readonly<Record<string, string>>;
}

/** Reads `probes/build/hook-probe --json`; a string is the reason it could not. */
export function parseHookProbeJson(text: string): HookKinds | string {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return `hook-probe printed no JSON: ${text.trim().slice(0, 80) || '(nothing)'}`;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'hook-probe JSON is not an object';
  const kinds: Record<string, boolean> = {};
  const errors: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    // 'root' is a fact about the caller, not a hook kind.
    if (typeof v === 'boolean' && k !== 'root') kinds[k] = v;
  }
  const errs = (raw as Record<string, unknown>).errors;
  if (typeof errs === 'object' && errs !== null) {
    for (const [k, v] of Object.entries(errs as Record<string, unknown>)) if (typeof v === 'string') errors[k] = v;
  }
  if (Object.keys(kinds).length === 0) return 'hook-probe JSON names no hook kinds';
  return { kinds, errors };
}

/** The bpftrace programs that stand in for hook-probe: each attaches one hook kind and exits. */
export const BPFTRACE_HOOK_PROGRAMS: Readonly<Record<string, string>> = {
  tracepoint: 'tracepoint:syscalls:sys_enter_getppid {} BEGIN { exit(); }',
  fentry: 'kfunc:vmlinux:tcp_sendmsg {} BEGIN { exit(); }',
  kprobe: 'kprobe:tcp_sendmsg {} BEGIN { exit(); }',
  uprobe: 'uprobe:libc:getpid {} BEGIN { exit(); }',
};

/**
 * The reason in bpftrace's stderr: its first ERROR line, skipping the RLIMIT_MEMLOCK notice it
 * prints on kernels that account BPF memory by cgroup (harmless there).
 */
export function bpftraceError(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  const err = lines.find((l) => /ERROR:/.test(l) && !/RLIMIT_MEMLOCK/.test(l)) ?? lines.find((l) => /FATAL|ERROR/.test(l));
  return (err ?? lines[lines.length - 1] ?? 'failed').replace(/^.*?(ERROR|FATAL):\s*/, '');
}

/** The version from `nginx -v` stderr ("nginx version: nginx/1.22.1"). */
export function parseNginxVersion(text: string): string | null {
  return /nginx\/(\S+)/.exec(text)?.[1] ?? null;
}

/** What probes/build/probe-cost measured, ns. */
export interface HookCosts {
  /** A USDT hit with an empty program attached: at a 1-byte nop (a breakpoint trap), at a 5-byte nop (the uprobe trampoline). */
  readonly nop1Ns: number;
  readonly nop5Ns: number;
  /** A socket tracepoint (tp_btf) run of an empty program. */
  readonly tracepointNs: number;
  /** bpf_stats' ns per run of those empty programs (0 when bpf_stats was off). */
  readonly usdtStatsNs: number;
  readonly tracepointStatsNs: number;
  /** What bpf_stats itself adds to a run (probe-cost --stats-cost; absent without): the clock reads around each. */
  readonly usdtStatsAddedNs?: number;
  readonly tracepointStatsAddedNs?: number;
}

/** probe-cost's JSON line, or why it is not one. Pure. */
export function parseProbeCostJson(text: string): HookCosts | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return 'probe-cost printed no JSON';
  }
  const o = v as Record<string, unknown> | null;
  const n = (k: string): number | null => (o && typeof o[k] === 'number' && Number.isFinite(o[k]) ? (o[k] as number) : null);
  const nop1 = n('nop1_ns');
  const nop5 = n('nop5_ns');
  const tp = n('tracepoint_ns');
  if (nop1 === null || nop5 === null || tp === null) return 'probe-cost printed no costs';
  const usdtAdded = n('usdt_stats_added_ns');
  const tpAdded = n('tracepoint_stats_added_ns');
  return {
    nop1Ns: nop1,
    nop5Ns: nop5,
    tracepointNs: tp,
    usdtStatsNs: n('usdt_stats_ns') ?? 0,
    tracepointStatsNs: n('tracepoint_stats_ns') ?? 0,
    ...(usdtAdded !== null && tpAdded !== null ? { usdtStatsAddedNs: usdtAdded, tracepointStatsAddedNs: tpAdded } : {}),
  };
}
