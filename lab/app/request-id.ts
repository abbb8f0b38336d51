import { randomBytes } from 'node:crypto';
import { isValidTraceId } from '@opentelemetry/api';

const HEX32 = /^[0-9a-fA-F]{32}$/;
const UUID = /^([0-9a-fA-F]{8})-([0-9a-fA-F]{4})-([0-9a-fA-F]{4})-([0-9a-fA-F]{4})-([0-9a-fA-F]{12})$/;
/** Longest part of a rejected header value that is ever logged. */
export const REJECTED_ID_LOG_CHARS = 64;

/** Where the request id came from. */
export type RequestIdSource = 'client' | 'generated' | 'replaced';

export interface RequestIdResolution {
  /** 32 lowercase hex digits, never all zero (it is also the W3C trace id). */
  readonly id: string;
  readonly source: RequestIdSource;
  /** For 'replaced': the client's value, escaped and truncated for a log line. */
  readonly rejected?: string;
}

/**
 * Keeps a client's X-Request-ID when it is 32 hex digits or a UUID (dashes dropped), lowercased;
 * any other value (too long, other characters, `*` `/`, repeated headers, all zeros) is replaced
 * by `generate()`. An absent or empty header gets a generated id and is not a replacement.
 */
export function resolveRequestId(header: string | readonly string[] | undefined, generate: () => string): RequestIdResolution {
  if (header === undefined || header === '') return { id: generate(), source: 'generated' };
  // Node joins repeated unknown headers with ', '; an array only comes from a raw caller.
  const value = typeof header === 'string' ? header : header.join(', ');
  let candidate: string | null = null;
  if (HEX32.test(value)) candidate = value.toLowerCase();
  else {
    const m = UUID.exec(value);
    if (m) candidate = m.slice(1).join('').toLowerCase();
  }
  if (candidate !== null && isValidTraceId(candidate)) return { id: candidate, source: 'client' };
  return { id: generate(), source: 'replaced', rejected: describeRejectedValue(value) };
}

/**
 * A log-safe rendering of a rejected header: printable ASCII kept except `\` and `"`, everything
 * else as \xNN / \u{N}, cut at REJECTED_ID_LOG_CHARS characters with the original length noted.
 */
export function describeRejectedValue(value: string): string {
  const chars = Array.from(value);
  const shown = chars.slice(0, REJECTED_ID_LOG_CHARS).map(escapeChar).join('');
  return chars.length > REJECTED_ID_LOG_CHARS ? `${shown}...(${chars.length} chars)` : shown;
}

function escapeChar(ch: string): string {
  const code = ch.codePointAt(0) ?? 0;
  if (ch === '\\' || ch === '"') return `\\x${code.toString(16).padStart(2, '0')}`;
  if (code >= 0x20 && code < 0x7f) return ch;
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
}

/** A fresh request id: 16 random bytes as 32 lowercase hex, never the invalid all-zero id. */
export function generateRequestId(random: (n: number) => Buffer = randomBytes): string {
  for (;;) {
    const id = random(16).toString('hex');
    if (isValidTraceId(id)) return id;
  }
}
