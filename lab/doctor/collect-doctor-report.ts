import type { PostgresKind } from '../../shared/modes.ts';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { labConfig } from '../config.ts';
import { findEmbeddedPackage, pgStatStatementsFiles } from '../db/embedded-postgres.ts';
import { PG_BIN_DIR, postgresAvailability, postgresVersion } from '../db/postgres-binaries.ts';
import { readPostgresRecord, runningPostgres } from '../db/postgres-cluster.ts';
import { selectPostgresKind } from '../db/select-postgres-kind.ts';
import { REPO_ROOT } from '../lifecycle/app-tier.ts';
import { findBinary } from '../lifecycle/binaries.ts';
import { labStatus } from '../lifecycle/lab-status.ts';
import { formatStopped, type StoppedProcess } from '../lifecycle/stopped-processes.ts';
import { DEFAULT_ADDON_PATH } from '../app/native/usdt-addon.ts';
import {
  bpftraceError,
  BPFTRACE_HOOK_PROGRAMS,
  parseCapEff,
  parseHookProbeJson,
  parseNginxVersion,
  parseProbeCostJson,
  parseStapsdtNotes,
  type Capabilities,
  type HookCosts,
} from './parse-doctor-inputs.ts';

export const TRACEFS = '/sys/kernel/tracing';
export const HOOK_PROBE = join(REPO_ROOT, 'probes', 'build', 'hook-probe');
export const PROBE_COST = join(REPO_ROOT, 'probes', 'build', 'probe-cost');

/** `lab doctor --json`. */
export interface DoctorReport {
  readonly kernel: string;
  readonly btf: boolean;
  readonly uid: number;
  readonly capabilities: Capabilities | null;
  readonly tracefs: { readonly path: string; readonly mounted: boolean; readonly mountedByDoctor: boolean; readonly error: string | null };
  readonly nginx: { readonly path: string | null; readonly version: string | null };
  readonly postgres: {
    /** The server `lab up` runs here: the one running in the lab's state dir, else the one started there last, else the default; null when none can run. */
    readonly kind: PostgresKind | null;
    readonly binary: string;
    readonly version: string | null;
    readonly usdtProbes: number | null;
    /** The server ships pg_stat_statements; null when unknown. */
    readonly pgStatStatements: boolean | null;
    /** The npm server: its package version and binary, or why it is not usable. */
    readonly embedded: { readonly version: string; readonly binary: string } | { readonly error: string };
    readonly error: string | null;
  };
  readonly node: string;
  readonly usdtAddon: { readonly built: boolean; readonly path: string | null };
  readonly hooks: {
    /** How the hook kinds were found out. */
    readonly method: 'hook-probe' | 'bpftrace' | 'none';
    readonly kinds: Readonly<Record<string, boolean>>;
    readonly errors: Readonly<Record<string, string>>;
  };
  /**
   * What a hook costs here (probes/build/probe-cost, ns): a USDT hit at a 1-byte nop (a breakpoint
   * trap: PostgreSQL's probes), at a 5-byte nop (the uprobe trampoline: the app's), a socket
   * tracepoint run; null when not measured (not root, or the tool is not built).
   */
  readonly hookCost: HookCosts | { readonly error: string } | null;
  /** The lab of LAB_STATE_DIR: its processes that are stopped (state T); null when the state dir cannot be read. */
  readonly lab: { readonly stateDir: string; readonly stopped: readonly StoppedProcess[] } | null;
  /** One line per thing that stops tracing here, with what to do. */
  readonly problems: readonly string[];
}

interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly error: string | null;
}

function run(cmd: string, args: readonly string[], timeoutMs: number): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, encoding: 'utf8', maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, stdout, stderr, error: err ? (err.killed ? `timed out after ${timeoutMs / 1000} s` : err.message.split('\n')[0] ?? 'failed') : null });
    });
  });
}

/** From the mount table: tracefs itself is root-only (0700), so a user cannot look inside to tell. */
function tracefsMounted(): boolean {
  try {
    return readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .some((l) => {
        const [, mountPoint, type] = l.split(' ');
        return mountPoint === TRACEFS && type === 'tracefs';
      });
  } catch {
    return existsSync(join(TRACEFS, 'events'));
  }
}

async function ensureTracefs(root: boolean): Promise<DoctorReport['tracefs']> {
  if (tracefsMounted()) return { path: TRACEFS, mounted: true, mountedByDoctor: false, error: null };
  if (!root) return { path: TRACEFS, mounted: false, mountedByDoctor: false, error: 'not mounted, and mounting needs root' };
  mkdirSync(TRACEFS, { recursive: true });
  const r = await run('mount', ['-t', 'tracefs', 'nodev', TRACEFS], 5000);
  const ok = tracefsMounted();
  return { path: TRACEFS, mounted: ok, mountedByDoctor: ok, error: ok ? null : (r.stderr.trim() || r.error) };
}

async function probeHooks(): Promise<DoctorReport['hooks']> {
  if (existsSync(HOOK_PROBE)) {
    const r = await run(HOOK_PROBE, ['--json'], 20_000);
    const parsed = parseHookProbeJson(r.stdout);
    if (typeof parsed !== 'string') return { method: 'hook-probe', ...parsed };
  }
  if (!findBinary('bpftrace')) return { method: 'none', kinds: {}, errors: { all: 'neither probes/build/hook-probe nor bpftrace is available' } };
  const kinds: Record<string, boolean> = {};
  const errors: Record<string, string> = {};
  for (const [kind, program] of Object.entries(BPFTRACE_HOOK_PROGRAMS)) {
    const r = await run('bpftrace', ['-e', program], 15_000);
    kinds[kind] = r.code === 0;
    if (r.code !== 0) errors[kind] = r.error?.startsWith('timed out') ? r.error : bpftraceError(r.stderr);
  }
  return { method: 'bpftrace', kinds, errors };
}

/**
 * What a hook costs here, by probes/build/probe-cost with `rounds` alternations (needs root and
 * bpf_stats on for the stats figures), or why it could not be measured.
 */
export async function measureHookCosts(rounds = 5, statsCost = false): Promise<HookCosts | { readonly error: string }> {
  if (!existsSync(PROBE_COST)) return { error: `${PROBE_COST} is not built (scripts/build.sh)` };
  const r = await run(PROBE_COST, ['-r', String(rounds), ...(statsCost ? ['--stats-cost'] : [])], 180_000);
  const parsed = parseProbeCostJson(r.stdout);
  return typeof parsed === 'string' ? { error: r.stderr.trim().split('\n').at(-1) || r.error || parsed } : parsed;
}

async function hookCost(root: boolean): Promise<DoctorReport['hookCost']> {
  return root && existsSync(PROBE_COST) ? measureHookCosts(5) : null;
}

/** The kind running or last started in the lab's state dir (LAB_STATE_DIR), or null. */
function labPostgresKind(): PostgresKind | null {
  try {
    const cfg = labConfig();
    return runningPostgres(cfg)?.kind ?? readPostgresRecord(cfg)?.kind ?? null;
  } catch {
    return null;
  }
}

async function postgresFacts(): Promise<DoctorReport['postgres']> {
  const pkg = findEmbeddedPackage();
  const embedded = typeof pkg === 'string' ? { error: pkg } : { version: pkg.version, binary: join(pkg.nativeDir, 'bin', 'postgres') };
  const choice = selectPostgresKind(null, labPostgresKind(), postgresAvailability());
  const kind = choice.ok ? choice.kind : null;
  let binary = join(PG_BIN_DIR, 'postgres');
  let pgStatStatements: boolean | null = null;
  if (kind === 'embedded' && typeof pkg !== 'string') {
    binary = join(pkg.nativeDir, 'bin', 'postgres');
    pgStatStatements = pgStatStatementsFiles(pkg.nativeDir).every((f) => existsSync(f));
  } else if (kind === 'system') {
    pgStatStatements = true;
  }
  let version: string | null = null;
  let error: string | null = choice.ok ? null : choice.error;
  if (kind !== null) {
    try {
      version = postgresVersion(kind);
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
  }
  let usdtProbes: number | null = null;
  if (existsSync(binary) && findBinary('readelf')) {
    const r = await run('readelf', ['-n', binary], 10_000);
    if (r.code === 0) usdtProbes = parseStapsdtNotes(r.stdout).length;
  }
  return { kind, binary, version, usdtProbes, pgStatStatements, embedded, error };
}

function labFacts(): DoctorReport['lab'] {
  try {
    const cfg = labConfig();
    return { stateDir: cfg.stateDir, stopped: labStatus(cfg, () => null).stopped };
  } catch {
    return null;
  }
}

function addonFacts(): DoctorReport['usdtAddon'] {
  return existsSync(DEFAULT_ADDON_PATH) ? { built: true, path: DEFAULT_ADDON_PATH } : { built: false, path: null };
}

/** Gathers the system profile; mounts tracefs when it is missing and we are root. */
export async function collectDoctorReport(): Promise<DoctorReport> {
  const uid = process.getuid?.() ?? -1;
  const capabilities = parseCapEff(readFileSync('/proc/self/status', 'utf8'));
  const tracefs = await ensureTracefs(uid === 0);
  const nginxPath = findBinary('nginx');
  const nginxVersion = nginxPath ? parseNginxVersion((await run(nginxPath, ['-v'], 5000)).stderr) : null;
  const [postgres, hooks] = await Promise.all([postgresFacts(), probeHooks()]);
  // Alone: it times loops, which the other checks running beside it would slow.
  const cost = await hookCost(uid === 0);
  const btf = existsSync('/sys/kernel/btf/vmlinux');
  const usdtAddon = addonFacts();
  const lab = labFacts();

  const problems: string[] = [];
  if (!btf) problems.push('no /sys/kernel/btf/vmlinux: CO-RE programs cannot load (kernel needs CONFIG_DEBUG_INFO_BTF)');
  if (!capabilities?.bpf && !capabilities?.sysAdmin) problems.push('no CAP_BPF: run lab trace as root');
  if (!capabilities?.perfmon && !capabilities?.sysAdmin) problems.push('no CAP_PERFMON: run lab trace as root');
  if (!tracefs.mounted) problems.push(`tracefs is not mounted at ${TRACEFS}: mount -t tracefs nodev ${TRACEFS}`);
  if (!nginxPath) problems.push("nginx not found: apt-get install nginx-light (or use 'lab up --proxy node')");
  if (postgres.error) problems.push(postgres.error);
  if (postgres.usdtProbes === 0 && postgres.kind === 'embedded') {
    problems.push(
      `the embedded PostgreSQL from npm (${postgres.binary}) has no USDT probes: the postgres BPF family has nothing to attach and PostgreSQL spans come from the client side only; ${
        postgresAvailability().system === null ? '' : 'as root on Debian, apt-get install postgresql postgresql-contrib, then '
      }'lab up --postgres system' for them`,
    );
  } else if (postgres.usdtProbes === 0) {
    problems.push(`${postgres.binary} has no USDT notes: PostgreSQL spans come from the client side only`);
  }
  if (postgres.pgStatStatements === false) problems.push(`${postgres.binary} ships no pg_stat_statements: the lab runs without it and cannot cross-check query times`);
  if (!usdtAddon.built) problems.push('USDT addon not built: run scripts/build.sh (the app falls back to file probes)');
  if (hooks.method === 'none') problems.push('cannot tell which BPF hooks load: build probes (scripts/build.sh) or install bpftrace');
  else if (!hooks.kinds.tracepoint) problems.push(`tracepoints do not load here: ${hooks.errors.tracepoint ?? 'unknown reason'}`);
  const stopped = lab === null ? null : formatStopped(lab.stopped);
  if (stopped !== null) problems.push(stopped);

  return {
    kernel: release(),
    btf,
    uid,
    capabilities,
    tracefs,
    nginx: { path: nginxPath, version: nginxVersion },
    postgres,
    node: process.version,
    usdtAddon,
    hooks,
    hookCost: cost,
    lab,
    problems,
  };
}
