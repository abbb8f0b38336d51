/**
 * Row numbers ordered by a time column, ties in row order, sorted as 64-bit keys (time above the
 * row number) by the engine's native typed-array sort rather than by a comparison function.
 */

const TWO_32 = 2 ** 32;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * The rows `0..length` of `ts` by time, equal times in row order; null when a time is negative,
 * not an integer, or too large to share a 64-bit key with a row number (or the platform is big-endian).
 */
export function rowsByTime(ts: Float64Array, length: number): Int32Array | null {
  let rowBits = 1;
  while (2 ** rowBits < length) rowBits++;
  if (rowBits > 31 || !LITTLE_ENDIAN) return null;
  const lowTimeSpan = 2 ** (32 - rowBits);
  const rowSpan = 2 ** rowBits;
  const keys = new BigUint64Array(length);
  const halves = new Uint32Array(keys.buffer);
  for (let row = 0; row < length; row++) {
    const t = ts[row]!;
    if (!(t >= 0 && Number.isSafeInteger(t))) return null;
    const high = Math.floor(t / lowTimeSpan);
    if (high >= TWO_32) return null;
    // Little-endian halves: the low word holds the time's low bits above the row number.
    halves[2 * row] = (t - high * lowTimeSpan) * rowSpan + row;
    halves[2 * row + 1] = high;
  }
  keys.sort();
  const rows = new Int32Array(length);
  const rowMask = rowSpan - 1;
  for (let i = 0; i < length; i++) rows[i] = halves[2 * i]! & rowMask;
  return rows;
}
