import { describe, expect, it } from 'vitest';
import { formatOverheadTable, interleavedSchedule, median, summarizeOverhead, type OverheadRun } from './overhead-summary.ts';

const run = (condition: string, round: number, requestsPerSecond: number, failures = 0): OverheadRun => ({
  condition,
  round,
  requestsPerSecond,
  p50Ms: requestsPerSecond / 100,
  p99Ms: requestsPerSecond / 10,
  failures,
});

describe('median', () => {
  it('takes the middle value, or the mean of the middle two, without reordering its input', () => {
    const input = [5, 1, 3];
    expect(median(input)).toBe(3);
    expect(input).toEqual([5, 1, 3]);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
});

describe('interleavedSchedule', () => {
  it('runs every condition once per round, in order', () => {
    expect(interleavedSchedule(['A', 'B', 'C'], 2)).toEqual([
      { round: 1, condition: 'A' },
      { round: 1, condition: 'B' },
      { round: 1, condition: 'C' },
      { round: 2, condition: 'A' },
      { round: 2, condition: 'B' },
      { round: 2, condition: 'C' },
    ]);
  });
});

describe('summarizeOverhead', () => {
  it('gives each condition its median req/s and the ratio to the baseline median', () => {
    const runs = [run('untraced', 1, 400), run('full', 1, 300), run('untraced', 2, 420), run('full', 2, 380, 2), run('untraced', 3, 410), run('full', 3, 350)];
    expect(summarizeOverhead(runs, 'untraced')).toEqual([
      { condition: 'untraced', runs: 3, medianRps: 410, minRps: 400, maxRps: 420, ratio: 1, overheadPct: 0, medianP50Ms: 4.1, medianP99Ms: 41, failures: 0 },
      { condition: 'full', runs: 3, medianRps: 350, minRps: 300, maxRps: 380, ratio: 350 / 410, overheadPct: (1 - 350 / 410) * 100, medianP50Ms: 3.5, medianP99Ms: 35, failures: 2 },
    ]);
  });

  it('reports NaN ratios when the baseline never ran', () => {
    const [row] = summarizeOverhead([run('full', 1, 300)], 'untraced');
    expect(row!.ratio).toBeNaN();
  });
});

describe('formatOverheadTable', () => {
  it('aligns one line per condition under a header', () => {
    const rows = summarizeOverhead([run('untraced', 1, 400), run('usdt', 1, 396)], 'untraced');
    expect(formatOverheadTable(rows)).toBe(
      [
        'condition  runs  req/s (median)  min..max  ratio  overhead  p50 ms  p99 ms  failures',
        'untraced      1           400.0  400..400  1.000      0.0%    4.00   40.00         0',
        'usdt          1           396.0  396..396  0.990      1.0%    3.96   39.60         0',
      ].join('\n'),
    );
  });
});
