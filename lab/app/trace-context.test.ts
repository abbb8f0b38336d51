import { TraceFlags } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { buildTraceContext, formatTraceparent, generateSpanId } from './trace-context.ts';

const ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';
const PARENT = 'b7ad6b7169203331';
const span = (): string => SPAN;

describe('buildTraceContext', () => {
  it('uses the request id as trace id and a fresh span id, sampled', () => {
    expect(buildTraceContext(ID, undefined, span)).toEqual({
      spanContext: { traceId: ID, spanId: SPAN, traceFlags: TraceFlags.SAMPLED, isRemote: false },
      parentSpanId: null,
      traceparent: `00-${ID}-${SPAN}-01`,
    });
  });

  it('keeps the parent span id of a traceparent for the same trace', () => {
    expect(buildTraceContext(ID, `00-${ID}-${PARENT}-01`, span).parentSpanId).toBe(PARENT);
    expect(buildTraceContext(ID, `00-${ID}-${PARENT}-00`, span).parentSpanId).toBe(PARENT);
  });

  it.each([
    ['another trace id', `00-${'1'.repeat(32)}-${PARENT}-01`],
    ['the all-zero parent id', `00-${ID}-${'0'.repeat(16)}-01`],
    ['version ff', `ff-${ID}-${PARENT}-01`],
    ['uppercase hex', `00-${ID.toUpperCase()}-${PARENT}-01`],
    ['a short parent id', `00-${ID}-${PARENT.slice(1)}-01`],
    ['garbage', 'hello'],
  ])('ignores a traceparent with %s', (_name, header) => {
    const ctx = buildTraceContext(ID, header, span);
    expect(ctx.parentSpanId).toBeNull();
    expect(ctx.traceparent).toBe(`00-${ID}-${SPAN}-01`);
  });

  it('ignores repeated traceparent headers', () => {
    expect(buildTraceContext(ID, [`00-${ID}-${PARENT}-01`], span).parentSpanId).toBeNull();
  });

  it('rejects a request id that is not a valid trace id', () => {
    expect(() => buildTraceContext('0'.repeat(32), undefined, span)).toThrow(/not a valid trace id/);
  });
});

describe('formatTraceparent', () => {
  it('prints flags as two hex digits', () => {
    expect(formatTraceparent({ traceId: ID, spanId: SPAN, traceFlags: TraceFlags.NONE })).toBe(`00-${ID}-${SPAN}-00`);
  });
});

describe('generateSpanId', () => {
  it('returns 16 hex and skips the all-zero id', () => {
    const draws = [Buffer.alloc(8), Buffer.from(PARENT, 'hex')];
    expect(generateSpanId(() => draws.shift() ?? Buffer.alloc(8, 3))).toBe(PARENT);
  });
});
