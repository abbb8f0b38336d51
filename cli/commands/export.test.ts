import { describe, expect, it } from 'vitest';
import { assembleCapture } from '../../assembler/build-span-tree.ts';
import { SCENARIOS } from '../../assembler/fixtures/scenarios.ts';
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

  it('holds one trace at a time for text and Jaeger JSON: a piece per trace', () => {
    expect([...formatTracesStreamed('text', traces, wallOffsetNs)]).toHaveLength(traces.length);
    expect([...formatTracesStreamed('jaeger', traces, wallOffsetNs)]).toHaveLength(traces.length + 2);
  });
});
