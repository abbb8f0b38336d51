/**
 * Traces as OpenTelemetry SDK ReadableSpans (what the OTLP exporters take): one resource per
 * tier (`service.name`), wall-clock times, tags as attributes, logs as span events. Pure: the
 * sending is in send-otlp.ts.
 */
import { SpanKind, SpanStatusCode, TraceFlags, type HrTime, type SpanContext } from '@opentelemetry/api';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { JAEGER_PROCESSES } from './to-jaeger-trace.ts';
import { SPAN_TIERS, type SpanTier, type Trace } from './span.ts';

const NS_PER_S = 1_000_000_000n;

/** A wall-clock ns value as OpenTelemetry's [seconds, nanoseconds]. */
export function toHrTime(ns: bigint): HrTime {
  return [Number(ns / NS_PER_S), Number(ns % NS_PER_S)];
}

const resources: Readonly<Record<SpanTier, Resource>> = Object.fromEntries(
  SPAN_TIERS.map((tier) => [tier, resourceFromAttributes({ 'service.name': JAEGER_PROCESSES[tier].serviceName, 'reqtrace.tier': tier })]),
) as Record<SpanTier, Resource>;

const scope = { name: 'reqtrace-lab/assembler', version: '0.1.0' };

/** The spans of `traces` for an OTLP exporter; `wallOffsetNs` maps CLOCK_MONOTONIC to wall time. */
export function toOtlpSpans(traces: readonly Trace[], wallOffsetNs: bigint): ReadableSpan[] {
  return traces.flatMap((trace) =>
    trace.spans.map((s): ReadableSpan => {
      const ctx: SpanContext = { traceId: trace.traceId, spanId: s.id, traceFlags: TraceFlags.SAMPLED };
      const parent: SpanContext | undefined = s.parentId === null ? undefined : { traceId: trace.traceId, spanId: s.parentId, traceFlags: TraceFlags.SAMPLED };
      const attributes: Record<string, string | number | boolean> = { ...s.tags };
      if (s.warnings.length > 0) attributes['reqtrace.warnings'] = s.warnings.join('; ');
      const status = typeof s.tags['http.response.status_code'] === 'number' && s.tags['http.response.status_code'] >= 500 ? SpanStatusCode.ERROR : SpanStatusCode.UNSET;
      return {
        name: s.name,
        kind: s.parentId === null ? SpanKind.SERVER : SpanKind.INTERNAL,
        spanContext: () => ctx,
        parentSpanContext: parent,
        startTime: toHrTime(s.startNs + wallOffsetNs),
        endTime: toHrTime(s.endNs + wallOffsetNs),
        duration: toHrTime(s.endNs - s.startNs),
        status: { code: status },
        attributes,
        links: [],
        events: s.logs.map((l) => ({
          name: typeof l.fields.event === 'string' ? l.fields.event : 'log',
          time: toHrTime(l.tsNs + wallOffsetNs),
          attributes: { ...l.fields },
        })),
        ended: true,
        resource: resources[s.tier],
        instrumentationScope: scope,
        droppedAttributesCount: 0,
        droppedEventsCount: 0,
        droppedLinksCount: 0,
      };
    }),
  );
}
