/**
 * Head sampling, the rule the kernel applies (probes/maps.bpf.h `request_sampled`, threshold
 * from probes/reqtrace.c): a request is followed when the first 32 bits of its id, read
 * big-endian, are below ceil(rate · 2^32). The loader computes the threshold in double
 * precision, and so does this module, so both sides draw the same line at every rate.
 */

const TWO_POW_32 = 4294967296;

/** The loader's threshold for `rate` (0 < rate ≤ 1): ids whose head is below it are followed. */
export function sampleThreshold(rate: number): number {
  if (!(rate > 0 && rate <= 1)) throw new Error(`sample rate must be a number with 0 < RATE <= 1, got ${rate}`);
  return Math.ceil(rate * TWO_POW_32);
}

/**
 * Whether the kernel followed `requestId` (32 lowercase hex) at sample `rate`. An id that is not
 * 32 hex digits is one the probes could not parse: the kernel zeroes it, and the zero id's head
 * (0) is below every threshold, so it counts as sampled.
 */
export function isSampled(requestId: string, rate: number): boolean {
  const threshold = sampleThreshold(rate);
  if (!/^[0-9a-f]{32}$/.test(requestId)) return true;
  return Number.parseInt(requestId.slice(0, 8), 16) < threshold;
}
