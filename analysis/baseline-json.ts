/** Reading a baseline file back: checks the kind and version and the shape of every route. Pure. */
import { BASELINE_VERSION, type Baseline } from './build-baseline.ts';

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const QUANTILE_FIELDS = ['latencyMs', 'socketWaitMs', 'runqDelayMs'] as const;
const DIST_FIELDS = ['dbQueries', 'fileOps', 'fileBytesRead', 'fileBytesWritten'] as const;

/** Parses baseline JSON text; throws a one-line error naming `file` and what is wrong. */
export function parseBaseline(text: string, file: string): Baseline {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file} is not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!isObj(v) || v.kind !== 'reqtrace-baseline') throw new Error(`${file} is not a reqtrace baseline (no "kind": "reqtrace-baseline")`);
  if (v.version !== BASELINE_VERSION) throw new Error(`${file} is baseline version ${String(v.version)}; this build reads version ${BASELINE_VERSION} (rebuild it with 'lab baseline')`);
  if (!isObj(v.routes) || typeof v.source !== 'string' || typeof v.requests !== 'number') throw new Error(`${file}: "routes", "source" and "requests" are required`);
  for (const [route, r] of Object.entries(v.routes)) {
    if (!isObj(r) || typeof r.requests !== 'number' || !isObj(r.spanTypes) || !isObj(r.statements) || !Array.isArray(r.components)) {
      throw new Error(`${file}: route '${route}' is malformed`);
    }
    for (const k of QUANTILE_FIELDS) {
      const q = r[k];
      if (!isObj(q) || !['p50', 'p90', 'p99', 'max'].every((f) => typeof q[f] === 'number')) throw new Error(`${file}: route '${route}' has no valid ${k}`);
    }
    for (const k of DIST_FIELDS) {
      const d = r[k];
      if (!isObj(d) || !['median', 'p90', 'max'].every((f) => typeof d[f] === 'number')) throw new Error(`${file}: route '${route}' has no valid ${k}`);
    }
    for (const [key, s] of Object.entries(r.spanTypes)) {
      if (!isObj(s) || !isObj(s.durationMs) || !isObj(s.perRequestMs) || typeof s.spans !== 'number' || typeof s.label !== 'string') {
        throw new Error(`${file}: route '${route}' span type '${key}' is malformed`);
      }
    }
  }
  return v as unknown as Baseline;
}
