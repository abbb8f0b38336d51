/** `selectTraces` for traces streamed as they are assembled: only the traces asked for are held. Pure. */
import { bySlowest, type Selection } from './select-traces.ts';
import type { Trace } from './span.ts';

export type StreamSelectResult = { readonly ok: true; readonly traces: Iterable<Trace> } | { readonly ok: false; readonly error: string };

/** `--id`'s request id as the capture writes it (lowercase, no dashes), or undefined when it is not one. */
export function selectedRequestId(id: string): string | undefined {
  const norm = id.toLowerCase().replace(/-/g, '');
  return /^[0-9a-f]{32}$/.test(norm) ? norm : undefined;
}

/** The `n` slowest of `traces` (bySlowest's order), holding at most `n` + 1 at a time. */
export function slowestOf(traces: Iterable<Trace>, n: number): Trace[] {
  let kept: Trace[] = [];
  for (const t of traces) {
    if (n <= 0) continue;
    kept.push(t);
    if (kept.length > 2 * n) kept = bySlowest(kept).slice(0, n);
  }
  return bySlowest(kept).slice(0, n);
}

/**
 * `sel.id` (one trace), `sel.slowest` (the N slowest) or all of `traces`, with the errors
 * `selectTraces` gives. All of them is `traces` itself, read once: its first trace is read here,
 * to tell an empty capture.
 */
export function selectStreamed(traces: Iterable<Trace>, sel: Selection, dir: string): StreamSelectResult {
  if (sel.id !== undefined && sel.slowest !== undefined) return { ok: false, error: '--id and --slowest are exclusive' };
  const it = traces[Symbol.iterator]();
  const first = it.next();
  if (first.done) return { ok: false, error: `${dir} holds no traced requests` };
  const all: Iterable<Trace> = {
    *[Symbol.iterator]() {
      yield first.value;
      for (let r = it.next(); !r.done; r = it.next()) yield r.value;
    },
  };
  if (sel.id !== undefined) {
    const id = selectedRequestId(sel.id);
    if (id === undefined) return { ok: false, error: `--id expects a 32-hex-digit request id, got '${sel.id}'` };
    // Read to the end all the same: the capture's every trace is assembled and counted.
    let found: Trace | undefined;
    for (const t of all) if (found === undefined && t.traceId === id) found = t;
    return found ? { ok: true, traces: [found] } : { ok: false, error: `no request ${id} in ${dir}` };
  }
  if (sel.slowest !== undefined) return { ok: true, traces: slowestOf(all, sel.slowest) };
  return { ok: true, traces: all };
}
