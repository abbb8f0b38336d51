/**
 * Sends traces to an OTLP/HTTP collector (JSON encoding) with the OpenTelemetry JS exporter.
 * A collector that does not answer is an error after `timeoutMs`, never a hang.
 */
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import type { Trace } from './span.ts';
import { toOtlpSpans } from './to-otlp-spans.ts';

/** ExportResultCode.SUCCESS of @opentelemetry/core (not a direct dependency). */
const EXPORT_SUCCESS = 0;

/** `http://host:4318` → `http://host:4318/v1/traces` (a URL already ending in /v1/traces is kept). */
export function otlpTracesUrl(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new Error(`--endpoint '${endpoint}' is not a URL (expected e.g. http://127.0.0.1:4318)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`--endpoint must be http:// or https://, got '${endpoint}'`);
  const base = url.href.replace(/\/+$/, '');
  return base.endsWith('/v1/traces') ? base : `${base}/v1/traces`;
}

/** Traces per request to the collector: a large capture is sent as it is read, never all held. */
export const OTLP_BATCH_TRACES = 500;

/**
 * Exports `traces`, read once, OTLP_BATCH_TRACES (or `batchTraces`) to a request; resolves with
 * the span and trace counts, rejects with a one-line reason at the first request that fails.
 */
export async function sendOtlp(
  traces: Iterable<Trace>,
  wallOffsetNs: bigint,
  endpoint: string,
  timeoutMs = 5000,
  batchTraces = OTLP_BATCH_TRACES,
): Promise<{ spans: number; traces: number; url: string }> {
  const url = otlpTracesUrl(endpoint);
  const exporter = new OTLPTraceExporter({ url, timeoutMillis: timeoutMs });
  const send = async (batch: readonly Trace[]): Promise<number> => {
    const spans = toOtlpSpans(batch, wallOffsetNs);
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = await Promise.race([
        new Promise<{ code: number; error?: Error }>((resolve) => exporter.export(spans, resolve)),
        new Promise<never>((_, reject) => {
          // The exporter retries some failures with backoff; give it a little more than its own timeout.
          timer = setTimeout(() => reject(new Error(`OTLP export to ${url} timed out after ${timeoutMs + 2000} ms`)), timeoutMs + 2000);
        }),
      ]);
      if (result.code !== EXPORT_SUCCESS) {
        const why = result.error?.message?.split('\n')[0] ?? 'unknown error';
        throw new Error(`OTLP export to ${url} failed: ${why}`);
      }
      return spans.length;
    } finally {
      clearTimeout(timer);
    }
  };
  let spans = 0;
  let count = 0;
  let batch: Trace[] = [];
  try {
    for (const t of traces) {
      batch.push(t);
      count++;
      if (batch.length >= batchTraces) {
        spans += await send(batch);
        batch = [];
      }
    }
    if (batch.length > 0 || count === 0) spans += await send(batch);
    return { spans, traces: count, url };
  } finally {
    await exporter.shutdown().catch(() => undefined);
  }
}
