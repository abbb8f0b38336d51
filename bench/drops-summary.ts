/**
 * What a capture's meta.json says about the loader under load: events per second, per request
 * and per kind, and the drop counters (the goal is all zero). Pure.
 */
import type { CaptureMeta } from '../shared/capture-types.ts';
import { EventKind } from '../shared/event-types.ts';

export interface DropsSummary {
  /** Tracing window (attach → stop), s. */
  readonly windowS: number;
  readonly requests: number;
  readonly requestsPerSecond: number;
  readonly records: number;
  readonly eventsPerSecond: number;
  readonly eventsPerRequest: number;
  readonly bytes: number;
  /** Records per event kind name, most first. */
  readonly kinds: Readonly<Record<string, number>>;
  readonly drops: Readonly<Record<string, number>>;
  readonly totalDrops: number;
  /** False when the loader reported no counters at all (then nothing says it lost nothing). */
  readonly dropCountersSeen: boolean;
}

const KIND_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(EventKind).map(([name, n]) => [n as number, name]));

/**
 * Summarizes a BPF capture's meta; `requests` is the number of client observations (one per
 * response). Throws when the capture has no loader report or no tracing window.
 */
export function summarizeDrops(meta: CaptureMeta, requests: number): DropsSummary {
  if (!meta.loader || meta.loader.records === null) throw new Error('meta.json has no loader report (not a BPF capture, or the loader ended without its summary)');
  if (!meta.window) throw new Error('meta.json has no tracing window');
  const windowS = Number(BigInt(meta.window.endNs) - BigInt(meta.window.startNs)) / 1e9;
  if (!(windowS > 0)) throw new Error(`meta.json's tracing window is empty (${meta.window.startNs} → ${meta.window.endNs})`);
  const records = meta.loader.records;
  const kinds = Object.entries(meta.loader.kinds)
    .map(([k, n]) => [KIND_NAMES.get(Number(k)) ?? `kind ${k}`, n] as const)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const totalDrops = Object.values(meta.drops).reduce((a, b) => a + b, 0);
  return {
    windowS,
    requests,
    requestsPerSecond: requests / windowS,
    records,
    eventsPerSecond: records / windowS,
    eventsPerRequest: requests > 0 ? records / requests : NaN,
    bytes: meta.loader.bytes ?? 0,
    kinds: Object.fromEntries(kinds),
    drops: { ...meta.drops },
    totalDrops,
    dropCountersSeen: Object.keys(meta.drops).length > 0,
  };
}

/** A few lines for the terminal. */
export function formatDropsSummary(s: DropsSummary): string {
  const drops = Object.entries(s.drops).map(([k, n]) => `${k}=${n}`).join(' ');
  return [
    `window      ${s.windowS.toFixed(1)} s`,
    `requests    ${s.requests} (${s.requestsPerSecond.toFixed(1)} req/s)`,
    `events      ${s.records} (${Math.round(s.eventsPerSecond)} events/s, ${s.eventsPerRequest.toFixed(1)} per request, ${(s.bytes / 1048576).toFixed(1)} MiB)`,
    `by kind     ${Object.entries(s.kinds).map(([k, n]) => `${k}=${n}`).join(' ')}`,
    `drops       ${s.totalDrops}${s.dropCountersSeen ? ` (${drops})` : ' (no drop counters reported)'}`,
  ].join('\n');
}
