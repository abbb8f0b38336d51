/** Latency injected into one request; every field 0 means none. */
export interface LatencyKnobs {
  /** App-side sleep before the handler, ms (0..5000). */
  readonly delayMs: number;
  /** Busy loop blocking the event loop before the handler, ms (0..2000). */
  readonly cpuMs: number;
  /** pg_sleep inside the request's first statement, ms (0..5000). */
  readonly dbDelayMs: number;
  /** Extra file written then read back in the state dir, KiB (0..10240). */
  readonly ioKb: number;
}

export const NO_KNOBS: LatencyKnobs = { delayMs: 0, cpuMs: 0, dbDelayMs: 0, ioKb: 0 };

/** Query parameter name, field and inclusive bounds of each knob. */
export const KNOB_SPECS = [
  { param: 'delay_ms', field: 'delayMs', min: 0, max: 5000 },
  { param: 'cpu_ms', field: 'cpuMs', min: 0, max: 2000 },
  { param: 'db_delay_ms', field: 'dbDelayMs', min: 0, max: 5000 },
  { param: 'io_kb', field: 'ioKb', min: 0, max: 10240 },
] as const;

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** Reads the latency knobs from a parsed query string; absent knobs are 0. */
export function parseKnobs(query: Readonly<Record<string, unknown>>): Parsed<LatencyKnobs> {
  const knobs: { -readonly [K in keyof LatencyKnobs]: number } = { ...NO_KNOBS };
  for (const spec of KNOB_SPECS) {
    const r = parseIntParam(query, spec.param, spec.min, spec.max, 0);
    if (!r.ok) return r;
    knobs[spec.field] = r.value;
  }
  return { ok: true, value: knobs };
}

const DECIMAL = /^\d{1,9}$/;

/**
 * One whole-number query parameter within [min, max]; `fallback` when absent. Accepts plain
 * decimal digits only (no sign, exponent, fraction, spaces or repeats).
 */
export function parseIntParam(
  query: Readonly<Record<string, unknown>>,
  name: string,
  min: number,
  max: number,
  fallback: number,
): Parsed<number> {
  const raw = query[name];
  if (raw === undefined) return { ok: true, value: fallback };
  if (typeof raw !== 'string') return { ok: false, error: `${name} must be given once, as a whole number from ${min} to ${max}` };
  if (!DECIMAL.test(raw)) return { ok: false, error: `${name} must be a whole number from ${min} to ${max}, got '${clip(raw)}'` };
  const value = Number(raw);
  if (value < min || value > max) return { ok: false, error: `${name} must be from ${min} to ${max}, got ${value}` };
  return { ok: true, value };
}

/** A 0/1/true/false query parameter; `fallback` when absent. */
export function parseBoolParam(query: Readonly<Record<string, unknown>>, name: string, fallback: boolean): Parsed<boolean> {
  const raw = query[name];
  if (raw === undefined) return { ok: true, value: fallback };
  if (raw === '1' || raw === 'true') return { ok: true, value: true };
  if (raw === '0' || raw === 'false') return { ok: true, value: false };
  return { ok: false, error: `${name} must be 0, 1, true or false, got '${clip(typeof raw === 'string' ? raw : JSON.stringify(raw))}'` };
}

function clip(s: string): string {
  const safe = s.replace(/[^\x20-\x7e]/g, '?');
  return safe.length > 40 ? `${safe.slice(0, 40)}...` : safe;
}
