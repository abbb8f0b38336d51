/**
 * What a capture keeps of the client's own data. A client's X-Request-ID survives only as a
 * keyed hash (HMAC-SHA-256 with a random key made for one capture and written nowhere, so the
 * hash says which requests of that capture sent the same header and nothing else), and a query
 * string keeps only the lab's knobs with their whole-number values; every other parameter is
 * dropped and counted.
 */
import { createHmac } from 'node:crypto';
import type { ProxyAccessEntry } from '../lab/nginx/parse-access-log.ts';
import type { NginxAccessEntry } from '../shared/capture-types.ts';

/** The query parameters a capture keeps: the latency knobs and the feed's item count. */
export const KEPT_QUERY_PARAMETERS: readonly string[] = ['delay_ms', 'cpu_ms', 'db_delay_ms', 'io_kb', 'items'];

/** A value the app accepts for those parameters: plain decimal digits. */
const WHOLE_NUMBER = /^\d{1,9}$/;

/**
 * `uri` with its query reduced to KEPT_QUERY_PARAMETERS whose values are whole numbers, and how
 * many parameters were dropped. The path is kept as it is. Pure.
 */
export function reduceQuery(uri: string): { readonly uri: string; readonly dropped: number } {
  const q = uri.indexOf('?');
  if (q < 0) return { uri, dropped: 0 };
  const kept: string[] = [];
  let dropped = 0;
  for (const part of uri.slice(q + 1).split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = decode(eq < 0 ? part : part.slice(0, eq));
    const value = eq < 0 ? '' : decode(part.slice(eq + 1));
    if (name !== null && value !== null && KEPT_QUERY_PARAMETERS.includes(name) && WHOLE_NUMBER.test(value)) kept.push(`${name}=${value}`);
    else dropped++;
  }
  return { uri: uri.slice(0, q) + (kept.length > 0 ? `?${kept.join('&')}` : ''), dropped };
}

function decode(s: string): string | null {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

/** An access-log entry as a capture stores it (nginx-access.jsonl). */
export interface CaptureAccessEntry extends NginxAccessEntry {
  /**
   * `hmac-sha256:` and 32 hex digits of the client's X-Request-ID under the capture's key, null
   * when it sent none.
   */
  readonly clientRequestIdHash: string | null;
  /** Log time, ms since the epoch. */
  readonly msec: number | null;
}

/** The capture form of one access-log entry under `key`; `dropped` counts its query parameters left out. Pure. */
export function captureAccessEntry(e: ProxyAccessEntry, key: Buffer): { readonly entry: CaptureAccessEntry; readonly dropped: number } {
  const { clientRequestId, uri, ...rest } = e;
  const reduced = reduceQuery(uri);
  const clientRequestIdHash = clientRequestId === null ? null : `hmac-sha256:${createHmac('sha256', key).update(clientRequestId).digest('hex').slice(0, 32)}`;
  return { entry: { ...rest, uri: reduced.uri, clientRequestIdHash }, dropped: reduced.dropped };
}
