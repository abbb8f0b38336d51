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

export const LANE1 = 2654435761;
export const LANE2 = 1597334677;

/** One lane (multiplier `LANE1` or `LANE2`) after also hashing `text`: the lanes are independent. */
export function extendLane(h: number, text: string, multiplier: number): number {
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), multiplier);
  return h;
}

/** The state after also hashing `text`; extending by a then b equals extending by a + b. */
export function extendSpanIdState(state: SpanIdState, text: string): SpanIdState {
  return { h1: extendLane(state.h1, text, LANE1), h2: extendLane(state.h2, text, LANE2) };
}

const HEX_CODES = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));
const hexCode = (v: number, shift: number): number => HEX_CODES[(v >>> shift) & 0xf]!;

/** The span id of a fully hashed `requestId \0 path`, from its lanes. */
export function spanIdOfLanes(h1: number, h2: number): string {
  const a = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  const b = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(a ^ (a >>> 13), 3266489909);
  // An all-zero span id is invalid in W3C trace context and OTLP.
  if (a === 0 && b === 0) return '0000000000000001';
  // One string of 16 char codes: concatenating pieces would leave a string per piece.
  return String.fromCharCode(
    hexCode(b, 28), hexCode(b, 24), hexCode(b, 20), hexCode(b, 16), hexCode(b, 12), hexCode(b, 8), hexCode(b, 4), hexCode(b, 0),
    hexCode(a, 28), hexCode(a, 24), hexCode(a, 20), hexCode(a, 16), hexCode(a, 12), hexCode(a, 8), hexCode(a, 4), hexCode(a, 0),
  );
}

/** The span id of a fully hashed `requestId \0 path`. */
export function spanIdOf(state: SpanIdState): string {
  return spanIdOfLanes(state.h1, state.h2);
}
