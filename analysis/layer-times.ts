/**
 * Where one request's time went, by layer: the proxy (nginx's own spans), the network between
 * the tiers, the app's own work, the database (its DB query spans, as the app waited on them),
 * and, overlapping those, the kernel waits tagged on its spans (socket buffers, run queue).
 *
 *   GET /api/users                      root
 *   ├─ nginx processing                 proxy
 *   ├─ network: nginx → app             network
 *   ├─ app processing
 *   │  ├─ handler setup                 app
 *   │  ├─ DB query 1 (SELECT)           db
 *   │  └─ response send                 app
 *   ├─ network: app → nginx             network
 *   └─ nginx response                   proxy
 */
import { durationNs, type Trace } from '../assembler/span.ts';
import { localSpanType } from './span-type.ts';
import { ms, traceFacts } from './trace-facts.ts';

export const LAYERS = ['proxy', 'network', 'app', 'db'] as const;
export type Layer = (typeof LAYERS)[number];

export interface LayerTimes {
  /** ms per layer; about the root's duration (less time no span covers, plus µs where siblings overlap). */
  readonly ms: Readonly<Record<Layer, number>>;
  /** Socket-buffer and run-queue waits tagged on the request's spans, ms (inside the layers' time). */
  readonly kernelWaitMs: number;
  readonly totalMs: number;
}

/** The layer times of one trace. Pure. */
export function layerTimes(trace: Trace): LayerTimes {
  const f = traceFacts(trace);
  const out: Record<Layer, number> = { proxy: 0, network: 0, app: 0, db: 0 };
  const parents = new Set(trace.spans.map((s) => s.parentId));
  const appIds = new Set<string>();
  for (const s of trace.spans) {
    if (s.parentId !== f.root.id) continue;
    const d = ms(durationNs(s));
    if (s.name === 'app processing' && parents.has(s.id)) appIds.add(s.id);
    else if (s.tier === 'nginx') out.proxy += d;
    else if (s.tier === 'kernel') out.network += d;
    else if (s.tier === 'postgres') out.db += d;
    else out.app += d;
  }
  for (const s of trace.spans) {
    if (s.parentId === null || !appIds.has(s.parentId)) continue;
    const d = ms(durationNs(s));
    if (localSpanType(s).key.startsWith('DB query') || s.tier === 'postgres') out.db += d;
    else out.app += d;
  }
  return { ms: out, kernelWaitMs: f.socketWaitMs + f.runqDelayMs, totalMs: f.rootMs };
}
