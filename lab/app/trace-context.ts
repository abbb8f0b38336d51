import { randomBytes } from 'node:crypto';
import { isValidSpanId, isValidTraceId, TraceFlags, type SpanContext } from '@opentelemetry/api';

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The app's span for one request: trace id = request id. */
export interface RequestTraceContext {
  readonly spanContext: SpanContext;
  /** The caller's span id from a valid incoming traceparent of the same trace, else null. */
  readonly parentSpanId: string | null;
  /** W3C header value for the app's span: `00-<trace id>-<span id>-01`. */
  readonly traceparent: string;
}

/**
 * Builds the app span's context. An incoming `traceparent` contributes its parent span id only
 * when it is well formed (version 00..fe, valid ids) and its trace id equals the request id;
 * otherwise the app span is a root. The app span id comes from `generateSpanId`.
 */
export function buildTraceContext(
  requestId: string,
  incoming: string | readonly string[] | undefined,
  generateSpanId: () => string,
): RequestTraceContext {
  if (!isValidTraceId(requestId)) throw new Error(`request id '${requestId}' is not a valid trace id`);
  const spanId = generateSpanId();
  if (!isValidSpanId(spanId)) throw new Error(`generated span id '${spanId}' is not valid`);
  const spanContext: SpanContext = { traceId: requestId, spanId, traceFlags: TraceFlags.SAMPLED, isRemote: false };
  return { spanContext, parentSpanId: parentFrom(requestId, incoming), traceparent: formatTraceparent(spanContext) };
}

/** `00-<trace id>-<span id>-<flags>`, flags as two hex digits. */
export function formatTraceparent(ctx: SpanContext): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${(ctx.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

function parentFrom(requestId: string, incoming: string | readonly string[] | undefined): string | null {
  if (typeof incoming !== 'string') return null;
  const m = TRACEPARENT.exec(incoming.trim());
  if (!m) return null;
  const [, version, traceId, parentId] = m;
  if (version === 'ff' || traceId !== requestId || parentId === undefined || !isValidSpanId(parentId)) return null;
  return parentId;
}

/** A fresh span id: 8 random bytes as 16 lowercase hex, never all zero. */
export function generateSpanId(random: (n: number) => Buffer = randomBytes): string {
  for (;;) {
    const id = random(8).toString('hex');
    if (isValidSpanId(id)) return id;
  }
}
