import { describe, expect, it } from 'vitest';
import type { FamilyCost } from './bpf-prog-stats.ts';
import { accountedCost, cpuPerRequest, floorShares, statsAddedNs, median, overheadTargets, renderOverheadMarkdown, renderOverheadSvg, summarizeOverheadRuns, type OverheadRun } from './overhead-report.ts';
import type { ProbeCost } from './probe-cost.ts';

const MIX = 'default mix at 200 req/s';

function run(condition: string, round: number, cpuUs: number, bpf: FamilyCost[] = [], extra: Partial<OverheadRun> = {}): OverheadRun {
  return {
    workload: MIX,
    condition,
    round,
    responses: 1000,
    durationS: 5,
    failures: 0,
    p50Ms: 10,
    p99Ms: 40,
    // 1000 responses: cpuUs per request once the load generator's 500 ms are taken off.
    machineBusyUs: cpuUs * 1000 + 500_000,
    loadgenCpuUs: 500_000,
    labCpuUs: cpuUs * 900,
    loaderCpuUs: bpf.length ? 20_000 : 0,
    bpf,
    records: bpf.length ? 40_000 : 0,
    bytes: bpf.length ? 4_000_000 : 0,
    drops: {},
    ...extra,
  };
}

const fam = (family: string, us: number, runs: number): FamilyCost => ({
  family,
  runTimeNs: us * 1000 * 1000,
  runCnt: runs * 1000,
  programs: [{ family, name: `${family}_prog`, runTimeNs: us * 1000 * 1000, runCnt: runs * 1000 }],
});

describe('median', () => {
  it('takes the middle value, or the mean of the middle two', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
});

describe('accountedCost', () => {
  const cal: ProbeCost = { nop1Ns: 6000, nop5Ns: 2000, tracepointNs: 100, usdtStatsNs: 120, tracepointStatsNs: 60, appFireNs: 150 };
  it('costs each run at its hook kind\'s calibrated price plus its stats time beyond an empty program\'s, with the app\'s calls and the loader', () => {
    const r = run('full, sample 1', 1, 3000, [fam('sockets', 20, 30), fam('usdt', 10, 8), fam('postgres', 6, 15)]);
    // per request ×1000 responses: sockets 30 runs × 100 + (20000 − 30 × 60); usdt 8 × 2000 + (10000 − 8 × 120) + 8 × 150;
    // postgres 15 × 6000 + (6000 − 15 × 120); loader 20 µs.
    const ns = 30 * 100 + (20_000 - 30 * 60) + 8 * 2000 + (10_000 - 8 * 120) + 8 * 150 + 15 * 6000 + (6000 - 15 * 120);
    expect(accountedCost(r, cal) / 1000).toBeCloseTo(ns / 1000 + 20, 6);
  });
  it('takes what bpf_stats adds to a run off each hook price when the calibration measured it', () => {
    const withStats: ProbeCost = { ...cal, usdtStatsAddedNs: 90, tracepointStatsAddedNs: 40 };
    const r = run('full, sample 1', 1, 3000, [fam('sockets', 20, 30), fam('usdt', 10, 8), fam('postgres', 6, 15)]);
    const ns = 30 * (100 - 40) + (20_000 - 30 * 60) + 8 * (2000 - 90) + (10_000 - 8 * 120) + 8 * 150 + 15 * (6000 - 90) + (6000 - 15 * 120);
    expect(accountedCost(r, withStats) / 1000).toBeCloseTo(ns / 1000 + 20, 6);
    expect(statsAddedNs(r, withStats)).toBeCloseTo((30 * 40 + 8 * 90 + 15 * 90) * 1000, 6);
    expect(statsAddedNs(r, cal)).toBeCloseTo((30 + 8 + 15) * 40 * 1000, 6);
  });
  it('falls back to bpf_stats time and the trap estimates without a calibration', () => {
    const r = run('full, sample 1', 1, 3000, [fam('usdt', 10, 8)]);
    expect(accountedCost(r, null) / 1000).toBeCloseTo(10 + (8 * 300) / 1000 + 20, 6);
  });
});

describe('summarizeOverheadRuns', () => {
  const runs = [
    run('untraced', 1, 3000),
    run('full, sample 1', 1, 3060, [fam('sockets', 20, 30), fam('usdt', 10, 8)]),
    run('untraced', 2, 3300),
    run('full, sample 1', 2, 3399, [fam('sockets', 22, 30), fam('usdt', 10, 8)]),
    run('untraced', 3, 2900),
    run('full, sample 1', 3, 2929, [fam('sockets', 18, 30), fam('usdt', 10, 8)]),
  ];
  const rows = summarizeOverheadRuns(runs, 'untraced');

  it('measures CPU per request as the machine less the load generator', () => {
    expect(cpuPerRequest(runs[0]!)).toBe(3000);
  });

  it('takes the median of a run\'s seconds when it has them, so one busy second does not move it', () => {
    expect(cpuPerRequest(run('untraced', 1, 3000, [], { perSecondCpuUs: [3000, 3010, 9000, 2990] }))).toBe(3005);
  });

  it('reads saturated req/s and its drops from the saturation runs', () => {
    const sat = [{ workload: MIX, condition: 'full, sample 1', requestsPerSecond: 420, failures: 0, drops: { ringbuf: 3 } }];
    const full = summarizeOverheadRuns(runs, 'untraced', sat).find((r) => r.condition === 'full, sample 1')!;
    expect(full.saturatedRps).toBe(420);
    expect(full.drops).toBe(3);
  });

  it('counts the lab\'s and the loader\'s CPU groups when the run has them, rather than the machine', () => {
    expect(cpuPerRequest(run('untraced', 1, 3000, [], { groupsCpuUs: 2_500_000 }))).toBe(2500);
    expect(cpuPerRequest(run('untraced', 1, 3000, [], { groupsCpuUs: 2_500_000, perSecondGroupsCpuUs: [2400, 2410, 9000] }))).toBe(2410);
  });

  it('sets each timed run against the untraced runs before and after it, interpolated, with an interval', () => {
    // The host slows down by 10% over the round; tracing adds 2% at every point of it.
    const at = (condition: string, startedAtMs: number, cpu: number): OverheadRun => run(condition, 1, cpu, condition === 'untraced' ? [] : [fam('sockets', 1, 1)], { startedAtMs, endedAtMs: startedAtMs + 100 });
    const drift = (t: number): number => 3000 * (1 + t / 10_000);
    const timedRuns = [at('untraced', 0, drift(50)), at('full, sample 1', 300, drift(350) * 1.02), at('untraced', 1000, drift(1050)), at('full, sample 1', 1300, drift(1350) * 1.02), at('untraced', 2000, drift(2050))];
    const full = summarizeOverheadRuns(timedRuns, 'untraced').find((r) => r.condition === 'full, sample 1')!;
    expect(full.overheadPct!.median).toBeCloseTo(2, 6);
    expect(full.overheadPct!.min).toBeCloseTo(2, 6);
    expect(full.overheadPct!.max).toBeCloseTo(2, 6);
    expect(full.overheadPct!.level).toBeGreaterThan(0);
  });

  it('pairs each traced run with the untraced run of its round', () => {
    const full = rows.find((r) => r.condition === 'full, sample 1')!;
    // Rounds: +2%, +3%, +1% → median 2%.
    expect(full.overheadPct!.median).toBeCloseTo(2, 6);
    expect(full.overheadPct!.min).toBeCloseTo(1, 6);
    expect(full.overheadPct!.max).toBeCloseTo(3, 6);
    expect(rows.find((r) => r.condition === 'untraced')!.overheadPct).toBeNull();
  });

  it('divides BPF time, runs, records and bytes by the responses, by family, most expensive first', () => {
    const full = rows.find((r) => r.condition === 'full, sample 1')!;
    expect(full.bpfPerRequestUs).toBeCloseTo(30, 6);
    expect(full.bpfByFamily.map((f) => [f.family, f.usPerRequest, f.runsPerRequest])).toEqual([
      ['sockets', 20, 30],
      ['usdt', 10, 8],
    ]);
    expect(full.usdtHitsPerRequest).toBe(8);
    expect(full.recordsPerRequest).toBe(40);
    expect(full.bytesPerRequest).toBe(4000);
    expect(full.loaderCpuPerRequestUs).toBe(20);
    expect(full.statsOverheadPerRequestUs).toBeCloseTo((38 * 40) / 1000, 6);
  });

  it('reads the targets: overhead against 3% and 0.5%, BPF share against 15%, drops against 0', () => {
    const low = [run('full, sample 0.01', 1, 3003, [fam('sockets', 3, 30)]), run('full, sample 0.01', 2, 3310, [fam('sockets', 3, 30)]), run('full, sample 0.01', 3, 2900, [fam('sockets', 3, 30)], { drops: { ringbuf: 2 } })];
    const t = overheadTargets(summarizeOverheadRuns([...runs, ...low], 'untraced'), MIX);
    expect(t.map((x) => [x.name, x.met])).toEqual([
      ['full tracing, sample 1: CPU per request over untraced', true],
      ['full tracing, sample 1: accounted cost', true],
      ['sample 0.01: CPU per request over untraced', true],
      ['sample 0.01: accounted cost', false],
      ['sample 0.01: BPF time per request as a share of sample 1', true],
      ['records dropped, at the fixed rate and saturated', false],
    ]);
    expect(t[2]!.value).toBeCloseTo(0.1, 6);
    expect(t[4]!.value).toBeCloseTo(10, 6);
    expect(t[5]!.value).toBe(2);
  });

  it('puts the socket hooks\' floor beside sample 0.01 as shares of sample 1, when the floor ran', () => {
    const at = (condition: string, sockets: number, usdt: number): OverheadRun[] => [1, 2, 3].map((round) => run(condition, round, 3000, [fam('sockets', sockets, 20), fam('usdt', usdt, 0.1)]));
    const withFloor = summarizeOverheadRuns([...runs, ...at('full, sample 0.01', 8, 1), ...at('sample 0.01, socket programs empty', 2, 1), ...at('sample 0.01, socket programs stop at the port check', 3.5, 1), ...at("sample 0.01, socket programs stop at the socket's state", 5, 1)], 'untraced');
    const shares = floorShares(withFloor, MIX);
    expect(shares.map((s) => [s.condition, s.bpfPerRequestUs, s.socketsPerRequestUs])).toEqual([
      ['sample 0.01, socket programs empty', 3, 2],
      ['sample 0.01, socket programs stop at the port check', 4.5, 3.5],
      ["sample 0.01, socket programs stop at the socket's state", 6, 5],
      ['full, sample 0.01', 9, 8],
    ]);
    // Sample 1's BPF time is 30 µs a request.
    expect(shares.map((s) => s.shareOfFullPct)).toEqual([10, 15, 20, 30]);
    const md = renderOverheadMarkdown({ measuredAt: 'now', settings: {}, machine: {}, rows: withFloor, targets: [], warnings: [], calibration: null });
    expect(md).toContain('| sample 0.01, socket programs stop at the port check | 4.50 | 3.50 | 15.0% |');
    expect(floorShares(rows, MIX)).toEqual([]);
    expect(renderOverheadMarkdown({ measuredAt: 'now', settings: {}, machine: {}, rows, targets: [], warnings: [], calibration: null })).not.toContain('floor');
  });

  it('says a target was not measured when its condition did not run', () => {
    expect(overheadTargets(rows, MIX).map((t) => t.met)).toEqual([true, true, null, null, null, true]);
  });

  it('renders a Markdown table per workload with the family breakdown and the targets', () => {
    const md = renderOverheadMarkdown({ measuredAt: 'now', settings: {}, machine: {}, rows, targets: overheadTargets(rows, MIX), warnings: ['w1'], calibration: null });
    expect(md).toContain(`## ${MIX}`);
    // accounted: 30 µs BPF + 8 app probe hits × 0.3 µs + 20 µs loader = 52.4 µs of ~3000.
    expect(md).toMatch(/\| full, sample 1 \| 3 \| .* \| \+2\.00% \[\+1\.00, \+3\.00\] \(1\.0\.\.3\.0\) \| 52\.4 µs, 1\.75% \| 30\.00 \|/);
    expect(md).toContain('| full, sample 1 | 20.00 (30.0×, 667 ns) | 10.00 (8.0×, 1250 ns) |');
    expect(md).toContain('| sample 0.01: CPU per request over untraced | – | 0.5 % | not measured |');
    expect(md).toContain('- w1');
  });

  it('draws one bar per traced condition and one stacked column of BPF time', () => {
    const svg = renderOverheadSvg(rows);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('<title>default mix at 200 req/s, full, sample 1: 2.00%</title>');
    expect(svg).toContain('<title>full, sample 1: sockets 20.00 µs</title>');
    expect(svg).toContain('3% (sample 1)');
  });
});
