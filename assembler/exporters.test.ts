import { describe, expect, it } from 'vitest';
import { assembleCapture } from './build-span-tree.ts';
import { deriveGaps } from './derive-gaps.ts';
import { buildCapture, fixtureId } from './fixtures/scenario-builder.ts';
import { renderOverviewSvg, renderWaterfallSvg, ellipsize, niceStepNs } from './render-waterfall-svg.ts';
import { renderWaterfallTerminal } from './render-waterfall-terminal.ts';
import { draftSpan, finalizeTrace } from './span-draft.ts';
import { rootOf } from './span.ts';
import { toChromeTrace } from './to-chrome-trace.ts';
import { toJaegerTrace } from './to-jaeger-trace.ts';

const assembled = assembleCapture(
  buildCapture('x', [
    {
      id: fixtureId(7),
      path: '/api/report',
      atUs: 0,
      steps: [
        { kind: 'query', plan: { sql: 'SELECT a_really_long_column_name_to_make_labels_long FROM t', executeUs: 800 } },
        { kind: 'file', plan: { path: '/srv/lab/config/an-unusually-long-configuration-file-name-for-label-tests.json', op: 'read', bytes: 100, fd: 25 } },
      ],
    },
  ]),
);
const trace = assembled.traces[0] as (typeof assembled.traces)[number];

describe('finalizeTrace repairs', () => {
  it('negative-duration: end set to start, with a warning', () => {
    const t = finalizeTrace('a'.repeat(32), draftSpan('root', 'app', 0n, 100n, { children: [draftSpan('bad', 'app', 50n, 40n)] }));
    const bad = t.spans[1];
    expect(bad).toMatchObject({ startNs: 50n, endNs: 50n });
    expect(bad?.warnings[0]).toMatch(/negative duration/);
  });
  it('child-outside-parent: clamped into the parent, with a warning', () => {
    const t = finalizeTrace('a'.repeat(32), draftSpan('root', 'app', 0n, 100n, { children: [draftSpan('p', 'app', 10n, 50n, { children: [draftSpan('c', 'kernel', 40n, 70n)] })] }));
    expect(t.spans[2]).toMatchObject({ name: 'c', startNs: 40n, endNs: 50n });
    expect(t.spans[2]?.warnings[0]).toMatch(/clamped into parent 'p'/);
  });
  it('descendant-outside-root: the root is widened, with a warning', () => {
    const t = finalizeTrace('a'.repeat(32), draftSpan('root', 'app', 10n, 100n, { children: [draftSpan('early', 'app', 0n, 20n)] }));
    expect(rootOf(t)).toMatchObject({ startNs: 0n, endNs: 100n });
    expect(rootOf(t).warnings[0]).toMatch(/root widened/);
  });
  it('same-named siblings get distinct, stable ids', () => {
    const make = () => finalizeTrace('b'.repeat(32), draftSpan('root', 'app', 0n, 100n, { children: [draftSpan('x', 'app', 0n, 10n), draftSpan('x', 'app', 20n, 30n)] }));
    const ids = make().spans.map((s) => s.id);
    expect(new Set(ids).size).toBe(3);
    expect(make().spans.map((s) => s.id)).toEqual(ids);
  });
});

describe('deriveGaps', () => {
  //   0    10   20        40   50       70  80  90 100
  //   |read|    |--op-----|    |--op----|   |send|
  //        ^setup         ^logic         ^serialization  ^finish
  it('names gaps by position', () => {
    const gaps = deriveGaps(0n, 100_000n, [
      { role: 'read', startNs: 0n, endNs: 10_000n },
      { role: 'op', startNs: 20_000n, endNs: 40_000n },
      { role: 'op', startNs: 50_000n, endNs: 70_000n },
      { role: 'send', startNs: 80_000n, endNs: 90_000n },
    ]);
    expect(gaps.map((g) => [g.name, g.startNs, g.endNs])).toEqual([
      ['handler setup', 10_000n, 20_000n],
      ['business logic', 40_000n, 50_000n],
      ['response serialization', 70_000n, 80_000n],
      ['response finish', 90_000n, 100_000n],
    ]);
  });
  it('overlapping operations leave no gap between them', () => {
    const gaps = deriveGaps(0n, 30_000n, [
      { role: 'op', startNs: 0n, endNs: 20_000n },
      { role: 'op', startNs: 10_000n, endNs: 30_000n },
    ]);
    expect(gaps).toEqual([]);
  });
});

describe('toJaegerTrace', () => {
  const j = toJaegerTrace(trace, assembled.wallOffsetNs);
  it('has the upload format: ids, CHILD_OF references, integer µs wall times, typed tags, processes per tier', () => {
    expect(j.traceID).toBe(fixtureId(7));
    const ids = new Set(j.spans.map((s) => s.spanID));
    for (const s of j.spans) {
      expect(s.spanID).toMatch(/^[0-9a-f]{16}$/);
      expect(Number.isInteger(s.startTime) && Number.isInteger(s.duration)).toBe(true);
      expect(s.startTime).toBeGreaterThan(1_700_000_000_000_000);
      for (const r of s.references) expect(ids.has(r.spanID) && r.refType === 'CHILD_OF').toBe(true);
      expect(Object.keys(j.processes)).toContain(s.processID);
      for (const t of s.tags) expect(['string', 'bool', 'int64', 'float64']).toContain(t.type);
    }
    expect(j.spans.filter((s) => s.references.length === 0)).toHaveLength(1);
    expect(Object.values(j.processes).map((p) => p.serviceName).sort()).toEqual(['app', 'kernel', 'nginx', 'postgresql']);
  });
});

describe('toChromeTrace', () => {
  it('emits one X event per span, pid per tier, tid per request, named processes', () => {
    const c = toChromeTrace(assembled.traces, assembled.wallOffsetNs);
    const xs = c.traceEvents.filter((e) => e.ph === 'X');
    expect(xs).toHaveLength(trace.spans.length);
    expect(new Set(xs.map((e) => e.tid))).toEqual(new Set([1]));
    expect(Math.min(...xs.map((e) => e.ts))).toBe(0);
    const names = c.traceEvents.filter((e) => e.ph === 'M' && e.name === 'process_name').map((e) => e.args.name);
    expect(names).toEqual(['nginx', 'app', 'postgres', 'kernel']);
  });
});

describe('SVG and terminal waterfalls', () => {
  it('SVG labels never exceed the label column, bars stay inside the drawing', () => {
    const svg = renderWaterfallSvg(trace);
    expect(svg.startsWith('<?xml')).toBe(true);
    expect(svg).not.toMatch(/NaN|undefined/);
    const opens = (svg.match(/<g>/g) ?? []).length;
    expect((svg.match(/<\/g>/g) ?? []).length).toBe(opens);
    const labels = [...svg.matchAll(/<text x="(\d+)" y="([\d.]+)" fill="#(?:1f2328|cf222e)">([^<]*)<\/text>/g)]
      .filter((m) => Number(m[1]) < 330 && Number(m[2]) > 78)
      .map((m) => ({ x: Number(m[1]), text: m[3] as string }));
    expect(labels.length).toBe(trace.spans.length);
    for (const l of labels) expect(l.x + [...l.text].length * 6.6).toBeLessThanOrEqual(330 + 0.01);
    expect(svg).toContain('…');
    for (const m of svg.matchAll(/<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"/g)) expect(Number(m[1]) + Number(m[2])).toBeLessThanOrEqual(1200);
  });
  it('the overview draws one row per trace', () => {
    const svg = renderOverviewSvg(assembled.traces);
    expect(svg).toContain('1 trace(s)');
  });
  it('terminal lines fit the width and use no ANSI codes when colour is off', () => {
    for (const width of [40, 80, 133]) {
      const out = renderWaterfallTerminal(trace, { width, color: false });
      expect(out).not.toContain('\x1b[');
      for (const line of out.trimEnd().split('\n')) expect([...line].length).toBeLessThanOrEqual(width);
    }
    expect(renderWaterfallTerminal(trace, { width: 80, color: true })).toContain('\x1b[34m');
  });
  it('ellipsize and nice steps', () => {
    expect(ellipsize('abcdef', 4)).toBe('abc…');
    expect(ellipsize('abc', 4)).toBe('abc');
    expect(niceStepNs(8_000_000n)).toBe(1_000_000n);
    expect(niceStepNs(15_000_000n)).toBe(2_000_000n);
  });
});
