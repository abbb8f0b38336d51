import type { Parsed } from './knobs.ts';

/** What GET /api/report reads from its config file on every request. */
export interface ReportConfig {
  /** Products listed (1..100). */
  readonly top: number;
  /** How many of the newest orders the report covers (1..100000). */
  readonly windowOrders: number;
}

export const DEFAULT_REPORT_CONFIG_TEXT = `${JSON.stringify({ top: 5, window_orders: 2000 }, null, 2)}\n`;

/** Parses the report config file's JSON text: `{"top": N, "window_orders": N}`. */
export function parseReportConfig(text: string): Parsed<ReportConfig> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `report config is not JSON: ${(err as Error).message}` };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return { ok: false, error: 'report config must be a JSON object' };
  const { top, window_orders: windowOrders } = data as Record<string, unknown>;
  if (typeof top !== 'number' || !Number.isInteger(top) || top < 1 || top > 100) {
    return { ok: false, error: 'report config: top must be a whole number from 1 to 100' };
  }
  if (typeof windowOrders !== 'number' || !Number.isInteger(windowOrders) || windowOrders < 1 || windowOrders > 100_000) {
    return { ok: false, error: 'report config: window_orders must be a whole number from 1 to 100000' };
  }
  return { ok: true, value: { top, windowOrders } };
}
