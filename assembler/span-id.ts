/**
 * A span id: 16 lowercase hex digits from a hash of the request id and the span's path in the
 * tree (names from the root, with a sibling index for repeated names), so the same capture
 * always yields the same ids and golden files stay stable. Two 32-bit multiply-xorshift lanes
 * (cyrb53-style mixing): ids need stability and spread within a trace, not cryptographic
 * strength, and a cryptographic hash was a third of assembly time.
 */
export function spanIdFor(requestId: string, path: string): string {
  const s = `${requestId}\0${path}`;
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  const hex = (h2 >>> 0).toString(16).padStart(8, '0') + (h1 >>> 0).toString(16).padStart(8, '0');
  // An all-zero span id is invalid in W3C trace context and OTLP.
  return hex === '0000000000000000' ? '0000000000000001' : hex;
}
