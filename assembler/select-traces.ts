/** Picks the traces a command asked for (`--id`, `--slowest N`), or says why it cannot. Pure. */
import { rootOf, type Trace } from './span.ts';

export interface Selection {
  readonly id?: string;
  readonly slowest?: number;
}

export type SelectResult = { readonly ok: true; readonly traces: readonly Trace[] } | { readonly ok: false; readonly error: string };

const durationOf = (t: Trace): bigint => rootOf(t).endNs - rootOf(t).startNs;

/** Slowest first; ties by trace id so the order is stable. */
export function bySlowest(traces: readonly Trace[]): Trace[] {
  return [...traces].sort((a, b) => {
    const da = durationOf(a);
    const db = durationOf(b);
    return da !== db ? (da > db ? -1 : 1) : a.traceId < b.traceId ? -1 : 1;
  });
}

/** `sel.id` (one trace), `sel.slowest` (the N slowest), or all of `traces` (in capture order). */
export function selectTraces(traces: readonly Trace[], sel: Selection, dir: string): SelectResult {
  if (sel.id !== undefined && sel.slowest !== undefined) return { ok: false, error: '--id and --slowest are exclusive' };
  if (traces.length === 0) return { ok: false, error: `${dir} holds no traced requests` };
  if (sel.id !== undefined) {
    const id = sel.id.toLowerCase().replace(/-/g, '');
    if (!/^[0-9a-f]{32}$/.test(id)) return { ok: false, error: `--id expects a 32-hex-digit request id, got '${sel.id}'` };
    const t = traces.find((x) => x.traceId === id);
    return t ? { ok: true, traces: [t] } : { ok: false, error: `no request ${id} in ${dir}` };
  }
  if (sel.slowest !== undefined) return { ok: true, traces: bySlowest(traces).slice(0, sel.slowest) };
  return { ok: true, traces };
}
