/**
 * Whether a capture holds everything `lab trace` was asked for, and if not, what is missing:
 * meta.json's `completeness`, the sentence `lab trace` ends with and the warnings readers show.
 */

import type { CaptureCompleteness, CaptureGap } from '../shared/capture-types.ts';

/** What the loader's end says (null in file mode, where there is no loader). */
export interface LoaderEnd {
  readonly summarySeen: boolean;
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** 'signal' (asked to stop), 'duration', 'app-exit', 'error', or null when unknown. */
  readonly stop: string | null;
  /** The loader was killed on purpose, after a second interrupt. */
  readonly killedOnRequest: boolean;
}

export interface CompletenessFacts {
  /** The signal that ended the trace early, or null. */
  readonly interruptedBy: string | null;
  readonly loader: LoaderEnd | null;
  /** Lab processes that were running at the start and not at the end. */
  readonly tiersGone: readonly { readonly tier: 'app' | 'nginx' | 'proxy' | 'postgres'; readonly pid: number }[];
  /** Requests of the load that failed (5xx or no response) and their description; null without a finished load. */
  readonly failedRequests: { readonly count: number; readonly text: string } | null;
  readonly loadError: string | null;
  /** Losses by counter, when known. */
  readonly drops: Readonly<Record<string, number>> | null;
  /** Side files not written (e.g. after a second interrupt). */
  readonly skipped: readonly string[];
}

const TIER_NAME: Readonly<Record<CompletenessFacts['tiersGone'][number]['tier'], string>> = {
  app: 'the app',
  nginx: 'nginx',
  proxy: 'the proxy',
  postgres: 'PostgreSQL',
};

/** What is missing from a capture, from the facts `lab trace` gathered. Pure. */
export function captureCompleteness(f: CompletenessFacts): CaptureCompleteness {
  const missing: CaptureGap[] = [];
  if (f.interruptedBy !== null) missing.push({ kind: 'interrupted', message: `lab trace was interrupted (${f.interruptedBy}): events end early` });
  // A lab process that died comes first: the loader's early stop and failed requests follow from it.
  for (const t of f.tiersGone) missing.push({ kind: 'tier-died', message: `${TIER_NAME[t.tier]} (pid ${t.pid}) died during the trace` });
  const l = f.loader;
  if (l !== null) {
    const how = l.signal !== null ? `was killed by ${l.signal}` : `exited with status ${l.exitCode}`;
    if (!l.summarySeen) {
      missing.push({
        kind: 'loader-died',
        message: `the loader ${how}${l.killedOnRequest ? ' on the second interrupt' : ''} without its summary: events stop early and losses are unknown`,
      });
    } else if (l.exitCode !== 0 && !l.killedOnRequest) {
      // Killed after its summary on a second interrupt: events.bin was complete, only detaching was cut short.
      missing.push({ kind: 'loader-failed', message: `the loader ${how}` });
    }
    if (l.stop !== null && l.stop !== 'signal') missing.push({ kind: 'loader-stopped-early', message: `the loader stopped early (${l.stop}): events end before the load did` });
  }
  if (f.loadError !== null) missing.push({ kind: 'load-failed', message: `the load failed: ${f.loadError}` });
  if (f.failedRequests !== null && f.failedRequests.count > 0) missing.push({ kind: 'failed-requests', message: f.failedRequests.text, count: f.failedRequests.count });
  const lost = Object.entries(f.drops ?? {}).filter(([, n]) => n > 0);
  if (lost.length > 0) {
    const total = lost.reduce((s, [, n]) => s + n, 0);
    missing.push({ kind: 'drops', message: `${total.toLocaleString('en-US')} record(s) were lost (${lost.map(([k, n]) => `${k}=${n}`).join(' ')})`, count: total });
  }
  if (f.skipped.length > 0) missing.push({ kind: 'skipped', message: `${f.skipped.join(' and ')} not written (second interrupt)` });
  return { complete: missing.length === 0, missing };
}

/** The completeness of a meta.json written when tracing starts, before there is anything to judge. */
export function unfinishedCompleteness(message: string): CaptureCompleteness {
  return { complete: false, missing: [{ kind: 'unfinished', message }] };
}

/** `the capture is incomplete: A; B` for stderr, or null when nothing is missing. Pure. */
export function formatIncomplete(c: CaptureCompleteness): string | null {
  return c.complete ? null : `the capture is incomplete: ${c.missing.map((g) => g.message).join('; ')}`;
}

/**
 * The warnings a reader shows for meta.json's `completeness` (read defensively: the file may be
 * hand-edited or damaged), one per gap; drops are left out, since the drop counters are reported
 * on their own. Pure.
 */
export function completenessWarnings(completeness: unknown): string[] {
  if (typeof completeness !== 'object' || completeness === null) return [];
  const c = completeness as { complete?: unknown; missing?: unknown };
  if (c.complete !== false || !Array.isArray(c.missing)) return [];
  const out: string[] = [];
  for (const g of c.missing as unknown[]) {
    if (typeof g !== 'object' || g === null) continue;
    const { kind, message } = g as { kind?: unknown; message?: unknown };
    if (kind === 'drops' || typeof message !== 'string') continue;
    out.push(`capture incomplete: ${message}`);
  }
  return out;
}
