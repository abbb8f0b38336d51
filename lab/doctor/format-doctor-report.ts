import type { DoctorReport } from './collect-doctor-report.ts';

const yes = (b: boolean): string => (b ? 'yes' : 'no');
const us = (ns: number): string => `${(ns / 1000).toFixed(ns < 1000 ? 2 : 1)} µs`;

function hookCostText(c: DoctorReport['hookCost']): string {
  if (c === null) return 'not measured (needs root and probes/build/probe-cost)';
  if ('error' in c) return `not measured: ${c.error}`;
  // A tracepoint run is a few hundred ns at most: on a busy machine the measurement can come out
  // below its own noise.
  const tp = c.tracepointNs < 50 ? 'below this run\'s noise' : us(c.tracepointNs);
  return `USDT hit ${us(c.nop1Ns)} at a 1-byte nop (PostgreSQL's probes: --families +postgres), ${us(c.nop5Ns)} at a 5-byte nop (the app's); socket tracepoint run ${tp}`;
}

/** The report as a two-column table, then hook kinds, then problems. */
export function formatDoctorReport(r: DoctorReport): string {
  const caps = r.capabilities;
  const rows: [string, string][] = [
    ['kernel', r.kernel],
    ['BTF (/sys/kernel/btf/vmlinux)', yes(r.btf)],
    ['user', r.uid === 0 ? 'root' : `uid ${r.uid}`],
    ['CAP_BPF / CAP_PERFMON / CAP_SYS_ADMIN', caps ? `${yes(caps.bpf)} / ${yes(caps.perfmon)} / ${yes(caps.sysAdmin)} (CapEff ${caps.capEff})` : 'unknown'],
    ['tracefs', `${r.tracefs.mounted ? 'mounted' : 'not mounted'} at ${r.tracefs.path}${r.tracefs.mountedByDoctor ? ' (mounted now)' : ''}${r.tracefs.error ? ` (${r.tracefs.error})` : ''}`],
    ['nginx', r.nginx.version ? `${r.nginx.version} (${r.nginx.path})` : 'not installed'],
    ['PostgreSQL', r.postgres.version ? `${r.postgres.version} (${r.postgres.kind === 'embedded' ? 'embedded, from npm' : r.postgres.kind})` : 'not installed'],
    ['PostgreSQL from npm', 'error' in r.postgres.embedded ? 'not installed' : `${r.postgres.embedded.version} (${r.postgres.embedded.binary})`],
    ['PostgreSQL USDT probes', r.postgres.usdtProbes === null ? 'unknown' : `${r.postgres.usdtProbes} in ${r.postgres.binary}`],
    ['node', r.node],
    ['USDT addon', r.usdtAddon.built ? `built (${r.usdtAddon.path})` : 'not built'],
    ['hook cost (probe-cost)', hookCostText(r.hookCost)],
    ['lab processes', r.lab === null ? 'unknown (LAB_STATE_DIR / LAB_PORT_BASE unreadable)' : `${r.lab.stopped.length === 0 ? 'none stopped' : `${r.lab.stopped.length} stopped (pid ${r.lab.stopped.map((p) => p.pid).join(', ')})`} in ${r.lab.stateDir}`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
  lines.push('', `BPF hook kinds (checked with ${r.hooks.method}):`);
  const kinds = Object.entries(r.hooks.kinds);
  const kw = Math.max(4, ...kinds.map(([k]) => k.length));
  for (const [k, ok] of kinds) lines.push(`  ${k.padEnd(kw)}  ${ok ? 'loads' : `no: ${r.hooks.errors[k] ?? 'failed'}`}`);
  if (kinds.length === 0) lines.push(`  ${r.hooks.errors.all ?? 'not checked'}`);
  lines.push('');
  if (r.problems.length === 0) lines.push('no problems found');
  else lines.push('problems:', ...r.problems.map((p) => `  - ${p}`));
  return lines.join('\n');
}
