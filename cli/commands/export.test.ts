import { describe, expect, it } from 'vitest';
import { assembleCapture } from '../../assembler/build-span-tree.ts';
import { SCENARIOS } from '../../assembler/fixtures/scenarios.ts';
import { overviewRowOf, renderOverviewSvg } from '../../assembler/render-waterfall-svg.ts';
import { bySlowest } from '../../assembler/select-traces.ts';
import { chromeOrigin } from '../../assembler/to-chrome-trace.ts';
import { formatTraces, formatTracesStreamed } from './export.ts';

const assembled = Object.values(SCENARIOS).map((make) => assembleCapture(make()));
const traces = assembled.flatMap((a) => a.traces);
const wallOffsetNs = assembled[0]!.wallOffsetNs;

describe('formatTracesStreamed', () => {
  it('writes, piece by piece, the very text formatTraces writes at once', () => {
    for (const format of ['text', 'jaeger', 'svg', 'chrome']) {
      for (const list of [traces, traces.slice(0, 1)]) {
        expect([...formatTracesStreamed(format, list, wallOffsetNs)].join('')).toBe(formatTraces(format, list, { wallOffsetNs }));
      }
    }
  });

  it('draws the SVG overview from the root of each trace and its children alone', () => {
    const rows = traces.map(overviewRowOf);
    for (const [row, t] of rows.map((r, i) => [r, traces[i]!] as const)) {
      expect(row.spans[0]).toBe(t.spans[0]);
      expect(row.spans.slice(1).every((s) => s.parentId === t.spans[0]!.id)).toBe(true);
    }
    expect(rows.reduce((n, r) => n + r.spans.length, 0)).toBeLessThan(traces.reduce((n, t) => n + t.spans.length, 0) / 2);
    expect(renderOverviewSvg(bySlowest(rows))).toBe(renderOverviewSvg(bySlowest(traces)));
  });

  it('holds one trace at a time for text and Jaeger JSON: a piece per trace', () => {
    expect([...formatTracesStreamed('text', traces, wallOffsetNs)]).toHaveLength(traces.length);
    expect([...formatTracesStreamed('jaeger', traces, wallOffsetNs)]).toHaveLength(traces.length + 2);
  });

  it('streams Chrome JSON a piece per trace once its time origin is known, the same text as at once', () => {
    let read = 0;
    const once: Iterable<(typeof traces)[number]> = {
      *[Symbol.iterator]() {
        for (const t of traces) {
          read++;
          yield t;
        }
      },
    };
    const pieces = [...formatTracesStreamed('chrome', once, wallOffsetNs, chromeOrigin(traces))];
    expect(read).toBe(traces.length);
    expect(pieces).toHaveLength(traces.length + 3);
    expect(pieces.join('')).toBe(formatTraces('chrome', traces, { wallOffsetNs }));
  });
});
