/**
 * Where in a span tree an injected fault should show, and how much time the tree puts there.
 * Each location reads the assembler's spans and tags as `lab show` prints them:
 *
 *   GET /api/users
 *   ├─ network: nginx → app          [socket buffer wait]      socket-wait-to-app
 *   ├─ app processing                [runqueue delay]          app-runq
 *   │  ├─ handler setup                                        handler-setup, pool-wait
 *   │  ├─ file: …                                              file-io
 *   │  ├─ DB query 1 (SELECT)        [tcp retransmits]         pg-retransmit
 *   │  │  └─ DB processing           (less PostgreSQL's phases pg-transit
 *   │  │     │                          and its CPU waits)
 *   │  │     └─ execute              (less its CPU waits)      db-execute
 *   │  │        └─ lock wait                                  lock-wait
 *   │  └─ DB query 5 (COMMIT)                                  commit
 *
 * Pure: a trace in, milliseconds out.
 */
import { childrenById, durationNs, rootOf, type Span, type Trace } from '../assembler/span.ts';

export const LOCATIONS = {
  'handler-setup': "app › handler setup (the app's own time before its first operation)",
  'pool-wait': 'app › waiting for a DB connection (pool wait, else handler setup)',
  'socket-wait-to-app': 'kernel › socket buffer wait before the app read the request',
  'db-execute': "PostgreSQL › execute of DB query 1 (less the backend's CPU waits)",
  'lock-wait': 'PostgreSQL › lock wait',
  'file-io': 'app › file I/O',
  commit: 'DB query (COMMIT)',
  'app-runq': "kernel › run-queue delay of the app's thread",
  'pg-transit': "network › app ↔ PostgreSQL (DB processing outside PostgreSQL's phases and CPU waits)",
  'pg-retransmit': 'network › DB queries with TCP retransmits',
} as const;

export type LocationKey = keyof typeof LOCATIONS;

/** What a trace holds at one location. */
export interface Placed {
  readonly ms: number;
  /** The spans it was read from, e.g. `DB query 3 (UPDATE) › execute › lock wait`. */
  readonly where: readonly string[];
  /** TCP retransmits tagged on the request's spans (each one is on one span only). */
  readonly retransmits: number;
  /** File bytes read and written in the request's file spans (any location). */
  readonly fileBytes: { readonly read: number; readonly written: number };
}

const spanMs = (s: Span): number => Number(durationNs(s)) / 1e6;
const tagNs = (s: Span, key: string): number => (typeof s.tags[key] === 'number' ? (s.tags[key] as number) : 0);
const DB_QUERY = /^DB query \d+ \(/;

/** ms of [start, end] covered by the intervals, overlaps counted once. */
function coveredMs(start: bigint, end: bigint, spans: readonly { readonly startNs: bigint; readonly endNs: bigint }[]): number {
  const parts = spans
    .map((s) => [s.startNs > start ? s.startNs : start, s.endNs < end ? s.endNs : end] as const)
    .filter(([a, b]) => b > a)
    .sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  let total = 0n;
  let reach = start;
  for (const [a, b] of parts) {
    const lo = a > reach ? a : reach;
    if (b > lo) total += b - lo;
    if (b > reach) reach = b;
  }
  return Number(total) / 1e6;
}

/** The run-queue waits a span's logs name (the assembler logs each one of 50 µs or more). */
function runqWaits(s: Span): { startNs: bigint; endNs: bigint }[] {
  return s.logs
    .filter((l) => l.fields.event === 'runqueue delay' && typeof l.fields['kernel.runq_delay_ns'] === 'number')
    .map((l) => ({ startNs: l.tsNs - BigInt(Math.round(l.fields['kernel.runq_delay_ns'] as number)), endNs: l.tsNs }));
}

/** Every span of `trace` under `top` (not `top` itself), depth first. */
function descendants(top: Span, children: ReadonlyMap<string, readonly Span[]>): Span[] {
  const out: Span[] = [];
  const walk = (s: Span): void => {
    for (const c of children.get(s.id) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(top);
  return out;
}

/** The time `trace` puts at `key`, with where it read it from. */
export function measureLocation(key: LocationKey, trace: Trace): Placed {
  const root = rootOf(trace);
  const children = childrenById(trace);
  const top = children.get(root.id) ?? [];
  const app = top.find((s) => s.name === 'app processing');
  const appChildren = app ? (children.get(app.id) ?? []) : [];
  const dbQueries = trace.spans.filter((s) => DB_QUERY.test(s.name));
  const byId = new Map(trace.spans.map((s) => [s.id, s]));
  const pathOf = (s: Span): string => {
    const names: string[] = [];
    for (let cur: Span | undefined = s; cur && cur.parentId !== null && cur.name !== 'app processing'; cur = byId.get(cur.parentId)) names.unshift(cur.name);
    return names.join(' › ');
  };
  const sum = (spans: readonly Span[]): { ms: number; where: string[] } => ({ ms: spans.reduce((a, s) => a + spanMs(s), 0), where: spans.map(pathOf) });

  let found: { ms: number; where: string[] };
  switch (key) {
    case 'handler-setup':
      found = sum(appChildren.filter((s) => s.name === 'handler setup' || s.name === 'handler'));
      break;
    case 'pool-wait': {
      const pool = trace.spans.filter((s) => s.name === 'pool wait');
      found = sum(pool.length > 0 ? pool : appChildren.filter((s) => s.name === 'handler setup'));
      break;
    }
    case 'socket-wait-to-app': {
      const spans = [...top.filter((s) => s.name === 'network: nginx → app'), ...appChildren.filter((s) => s.name === 'request read')].filter((s) => tagNs(s, 'kernel.socket_buffer_wait_ns') > 0);
      found = { ms: spans.reduce((a, s) => a + tagNs(s, 'kernel.socket_buffer_wait_ns') / 1e6, 0), where: spans.map((s) => `${pathOf(s)} [socket buffer wait]`) };
      break;
    }
    case 'db-execute': {
      // Less the backend's run-queue waits inside it (a sleep ends on time; waking late for want
      // of a CPU is the machine's, and the trace says so on DB processing).
      const first = dbQueries.find((s) => s.name.startsWith('DB query 1 ('));
      const executes = first ? descendants(first, children).filter((s) => s.name === 'execute') : [];
      const waits = first ? descendants(first, children).filter((s) => s.name === 'DB processing').flatMap(runqWaits) : [];
      found = { ms: executes.reduce((a, s) => a + spanMs(s) - coveredMs(s.startNs, s.endNs, waits), 0), where: executes.map(pathOf) };
      break;
    }
    case 'lock-wait':
      found = sum(trace.spans.filter((s) => s.name === 'lock wait' && s.tier === 'postgres'));
      break;
    case 'file-io':
      found = sum(appChildren.filter((s) => s.name.startsWith('file')));
      break;
    case 'commit':
      found = sum(dbQueries.filter((s) => s.name.endsWith('(COMMIT)')));
      break;
    case 'app-runq': {
      const ns = app ? tagNs(app, 'kernel.runq_delay_ns') : 0;
      found = { ms: ns / 1e6, where: ns > 0 ? ['app processing [runqueue delay]'] : [] };
      break;
    }
    case 'pg-transit': {
      let ms = 0;
      const where: string[] = [];
      for (const q of dbQueries) {
        for (const p of (children.get(q.id) ?? []).filter((c) => c.name === 'DB processing')) {
          // The backend waiting for a CPU is not the network: its run-queue waits go too.
          ms += spanMs(p) - coveredMs(p.startNs, p.endNs, [...(children.get(p.id) ?? []), ...runqWaits(p)]);
          where.push(`${pathOf(p)} less PostgreSQL's phases and its run-queue waits`);
        }
      }
      found = { ms, where };
      break;
    }
    case 'pg-retransmit':
      found = sum(dbQueries.filter((s) => tagNs(s, 'kernel.tcp_retransmits') > 0));
      break;
  }
  let retransmits = 0;
  let read = 0;
  let written = 0;
  for (const s of trace.spans) {
    retransmits += tagNs(s, 'kernel.tcp_retransmits');
    if (s.name.startsWith('file') && s.parentId === app?.id) {
      read += tagNs(s, 'file.bytes_read');
      written += tagNs(s, 'file.bytes_written');
    }
  }
  return { ms: found.ms, where: found.where, retransmits, fileBytes: { read, written } };
}
