/**
 * A span id: 16 lowercase hex digits from a hash of the request id and the span's path in the
 * tree (names from the root, with a sibling index for repeated names), so the same capture
 * always yields the same ids and golden files stay stable. Two 32-bit multiply-xorshift lanes
 * (cyrb53-style mixing): ids need stability and spread within a trace, not cryptographic
 * strength, and a cryptographic hash was a third of assembly time.
 */
export function spanIdFor(requestId: string, path: string): string {
  return spanIdOf(extendSpanIdState(SPAN_ID_SEED, `${requestId}\0${path}`));
}

/** The hash lanes after some prefix of `requestId \0 path`: a child's id continues its parent's. */
export interface SpanIdState {
  readonly h1: number;
  readonly h2: number;
}

export const SPAN_ID_SEED: SpanIdState = { h1: 0xdeadbeef, h2: 0x41c6ce57 };

/** The state after also hashing `text`; extending by a then b equals extending by a + b. */
export function extendSpanIdState(state: SpanIdState, text: string): SpanIdState {
  let h1 = state.h1;
  let h2 = state.h2;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  return { h1, h2 };
}

// Number#toString(16) takes V8's slow radix path for values above 2^31 (about 1 µs each).
const HEX_BYTE = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex32(v: number): string {
  return (
    (HEX_BYTE[(v >>> 24) & 0xff] as string) +
    (HEX_BYTE[(v >>> 16) & 0xff] as string) +
    (HEX_BYTE[(v >>> 8) & 0xff] as string) +
    (HEX_BYTE[v & 0xff] as string)
  );
}

/** The span id of a fully hashed `requestId \0 path`. */
export function spanIdOf(state: SpanIdState): string {
  let h1 = state.h1;
  let h2 = state.h2;
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  const hex = hex32(h2) + hex32(h1);
  // An all-zero span id is invalid in W3C trace context and OTLP.
  return hex === '0000000000000000' ? '0000000000000001' : hex;
}
