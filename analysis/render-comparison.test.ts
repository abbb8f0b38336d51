import { describe, expect, it } from 'vitest';
import { assembleCapture } from '../assembler/build-span-tree.ts';
import { buildCapture } from '../assembler/fixtures/scenario-builder.ts';
import { SCENARIOS } from '../assembler/fixtures/scenarios.ts';
import type { Capture } from '../shared/capture-types.ts';
import { buildBaseline } from './build-baseline.ts';
import { compareBaselines, compareTraces } from './compare-traces.ts';
import { seededRandom } from '../lab/seeded-random.ts';
import { feedRequest, usersPopulation } from './fixtures/populations.ts';
import { renderCaptureComparison, renderTraceComparison } from './render-comparison.ts';

const only = (name: string) => {
  const t = assembleCapture((SCENARIOS[name] as () => Capture)()).traces[0];
  if (!t) throw new Error(`${name} has no trace`);
  return t;
};

describe('renderTraceComparison', () => {
  it('users-two-queries vs kernel-findings: the socket buffer wait is the difference', () => {
    expect(renderTraceComparison(compareTraces(only('users-two-queries'), only('kernel-findings')))).toBe(EXPECTED_TRACE);
  });
});

describe('renderTraceComparison of an N+1', () => {
  it('sums the extra queries into one difference in its footer', () => {
    const [a, b] = assembleCapture(buildCapture('feeds', [feedRequest('a'.repeat(32), 0, 3, seededRandom(1)), feedRequest('b'.repeat(32), 50_000, 12, seededRandom(1))])).traces;
    if (!a || !b) throw new Error('fixture lost a trace');
    const text = renderTraceComparison(compareTraces(a, b));
    expect(text.trim().split('\n').at(-1)).toMatch(/^Differs most: 9 × DB query \(SELECT … items\) only in B \+\d+\.\dms/);
    expect(text.split('\n').filter((l) => l.startsWith('>> '))).toHaveLength(9);
  });
});

describe('renderCaptureComparison', () => {
  it('a SELECT 6.8ms slower in B: p99 rose, driven by that query', () => {
    // Five identical-shaped requests each; only the SELECT's execute time differs (1.5ms vs 8.3ms).
    const a = buildBaseline(assembleCapture(buildCapture('before', usersPopulation(5, 1, 1, 0, [1500, 1500]))).traces, 'captures/before');
    const b = buildBaseline(assembleCapture(buildCapture('after', usersPopulation(5, 1, 1, 0, [8300, 8300]))).traces, 'captures/after');
    expect(renderCaptureComparison(compareBaselines(a, b))).toBe(EXPECTED_CAPTURES);
  });
});

const EXPECTED_TRACE = `A: 4bf92f3577b34da6a3ce929d0e0e4736 GET /api/users 7.0ms
B: 3c5e7a9b1d2f4a6c8e0b2d4f6a8c0e1b GET /api/users 10.0ms (+3.0ms, ×1.42)

   span                                A          B      delta   ratio
   GET /api/users                  7.0ms     10.0ms     +3.0ms    1.42
     nginx processing              0.1ms      0.1ms     +0.0ms    1.00
     network: nginx → app         0.04ms      3.0ms     +3.0ms   85.57
>>     socket buffer wait              —      3.0ms     +3.0ms  only B
     app processing                6.8ms      6.8ms     +0.0ms    1.00
       request read               0.01ms     0.01ms     +0.0ms    1.00
       handler setup               0.3ms      0.3ms     +0.0ms    1.00
       DB query 1 (SELECT)         2.0ms      2.0ms     +0.0ms    1.00
         query send               0.01ms     0.01ms     +0.0ms    1.00
         DB processing             1.9ms      1.9ms     +0.0ms    1.00
           parse                  0.03ms     0.03ms     +0.0ms    1.00
           plan                   0.07ms     0.07ms     +0.0ms    1.00
           execute                 1.8ms      1.8ms     +0.0ms    1.00
             buffer read          0.02ms     0.02ms     +0.0ms    1.00
               smgr read          0.01ms     0.01ms     +0.0ms    1.00
             buffer read          0.02ms     0.02ms     +0.0ms    1.00
               smgr read          0.01ms     0.01ms     +0.0ms    1.00
         result receive           0.04ms     0.04ms     +0.0ms    1.00
       business logic              1.3ms      1.3ms     +0.0ms    1.00
       DB query 2 (UPDATE)         2.9ms      2.9ms     +0.0ms    1.00
         query send               0.01ms     0.01ms     +0.0ms    1.00
         DB processing             2.7ms      2.7ms     +0.0ms    1.00
           parse                  0.03ms     0.03ms     +0.0ms    1.00
           plan                   0.07ms     0.07ms     +0.0ms    1.00
           execute                 2.6ms      2.6ms     +0.0ms    1.00
         result receive           0.04ms     0.04ms     +0.0ms    1.00
       response serialization      0.3ms      0.3ms     +0.0ms    1.00
       response send              0.03ms     0.03ms     +0.0ms    1.00
       response finish            0.02ms     0.02ms     +0.0ms    1.00
     network: app → nginx         0.03ms     0.03ms     +0.0ms    1.00
     nginx response               0.07ms     0.07ms     +0.0ms    1.00

Differs most: socket buffer wait +3.0ms
`;

const EXPECTED_CAPTURES = `A: captures/before
B: captures/after

p99 of GET /api/users rose from 7.0ms to 13.8ms (+97%), driven by DB query (SELECT … users) p99 +6.8ms
  requests 5 → 5; p50 6.9ms → 13.7ms; DB queries per request (median) 2 → 2
  span type                     p50 A     p50 B     p99 A     p99 B      Δp99
  DB query (SELECT … users)     1.8ms     8.6ms     1.8ms     8.6ms    +6.8ms
  DB query (UPDATE … users)     3.0ms     3.0ms     3.1ms     3.1ms    +0.0ms
  business logic                1.2ms     1.2ms     1.3ms     1.3ms    +0.0ms
  handler setup                 0.3ms     0.3ms     0.3ms     0.3ms    +0.0ms
  request read                 0.01ms    0.01ms    0.01ms    0.01ms    +0.0ms
  response finish              0.02ms    0.02ms    0.02ms    0.02ms    +0.0ms
  response send                0.03ms    0.03ms    0.03ms    0.03ms    +0.0ms
  response serialization        0.3ms     0.3ms     0.3ms     0.3ms    +0.0ms
  … 4 more span type(s)
`;
