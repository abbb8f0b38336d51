/**
 * Synthetic TraceEvents shaped like a real lab capture, for the decoder and capture-reader
 * benchmarks: the kind mix of a `lab demo` capture (meta.json `loader.kinds`: 8829 records for 200
 * requests), ~44 events per request id, several requests interleaved, a third of the records with
 * no request id (nginx socket I/O, runqueue delays), a couple of dozen distinct 4-tuples. Seeded.
 */
import { EventKind, PgPhase, type TraceEvent, type Tuple } from '../shared/event-types.ts';
import { seededRandom as rng } from '../lab/seeded-random.ts';

/** Records per kind in the reference capture (.lab/captures/demo-*, loader.kinds). */
const DEMO_KINDS: ReadonlyArray<readonly [EventKind, number]> = [
  [EventKind.RequestStart, 200],
  [EventKind.RequestEnd, 200],
  [EventKind.DbQueryStart, 509],
  [EventKind.DbQueryEnd, 509],
  [EventKind.CacheHit, 3],
  [EventKind.CacheMiss, 59],
  [EventKind.FileOpen, 48],
  [EventKind.FileClose, 48],
  [EventKind.SockRecv, 2124],
  [EventKind.SockSend, 1627],
  [EventKind.FileRead, 24],
  [EventKind.FileWrite, 24],
  [EventKind.SockAccept, 10],
  [EventKind.SockConnect, 6],
  [EventKind.SockClose, 10],
  [EventKind.RunqDelay, 837],
  [EventKind.ProcFork, 3],
  [EventKind.PgPhase, 2588],
];
const EVENTS_PER_REQUEST = 44;
const CONCURRENT_REQUESTS = 4;
/** Share of socket records the kernel could not tag (nginx's side, joined later by 4-tuple). */
const UNTAGGED_SOCK_IO = 0.62;


const hex32 = (r: () => number): string => Array.from({ length: 4 }, () => Math.floor(r() * 2 ** 32).toString(16).padStart(8, '0')).join('');

const PATHS = ['/api/users', '/api/users/42', '/api/orders', '/api/report', '/api/feed?items=5', '/healthz'];
const SQL = [
  'SELECT id, name, email, created_at FROM users WHERE id = $1',
  'SELECT id, name, email FROM users ORDER BY id LIMIT $1',
  'BEGIN',
  'UPDATE stock SET qty = qty - $1 WHERE item_id = $2',
  'INSERT INTO orders (user_id, item_id, qty) VALUES ($1, $2, $3) RETURNING id',
  'COMMIT',
];

/** `n` events in time order, deterministic for a given seed. */
export function labLikeEvents(n: number, seed = 1): TraceEvent[] {
  const r = rng(seed);
  const total = DEMO_KINDS.reduce((s, [, c]) => s + c, 0);
  const cumulative: Array<readonly [EventKind, number]> = [];
  let acc = 0;
  for (const [kind, count] of DEMO_KINDS) cumulative.push([kind, (acc += count) / total]);
  const pickKind = (): EventKind => {
    const x = r();
    for (const [kind, upTo] of cumulative) if (x < upTo) return kind;
    return EventKind.PgPhase;
  };

  const tuples: Tuple[] = [];
  for (let i = 0; i < 8; i++) {
    tuples.push({ localAddress: '127.0.0.1', localPort: 18080, remoteAddress: '127.0.0.1', remotePort: 32890 + i, family: 'ipv4' });
    tuples.push({ localAddress: '127.0.0.1', localPort: 40100 + i, remoteAddress: '127.0.0.1', remotePort: 18081, family: 'ipv4' });
  }
  for (let i = 0; i < 5; i++) tuples.push({ localAddress: '127.0.0.1', localPort: 50500 + i, remoteAddress: '127.0.0.1', remotePort: 18082, family: 'ipv4' });

  const slots = Array.from({ length: CONCURRENT_REQUESTS }, () => ({ id: hex32(r), left: Math.floor(r() * EVENTS_PER_REQUEST) + 1 }));
  const out: TraceEvent[] = [];
  let ts = 1_851_697_572_796n;
  for (let i = 0; i < n; i++) {
    ts += BigInt(1 + Math.floor(r() * 20_000));
    const slot = slots[Math.floor(r() * CONCURRENT_REQUESTS)]!;
    if (--slot.left === 0) {
      slot.id = hex32(r);
      slot.left = EVENTS_PER_REQUEST;
    }
    const kind = pickKind();
    const sock = kind === EventKind.SockRecv || kind === EventKind.SockSend;
    const untagged =
      kind === EventKind.RunqDelay ||
      kind === EventKind.ProcFork ||
      kind === EventKind.SockAccept ||
      kind === EventKind.SockConnect ||
      kind === EventKind.SockClose ||
      (sock && r() < UNTAGGED_SOCK_IO);
    const pid = 8341 + Math.floor(r() * 16);
    const h = { tsNs: ts, requestId: untagged ? '' : slot.id, pid, tid: pid, fd: 3 + Math.floor(r() * 30) };
    const tuple = tuples[Math.floor(r() * tuples.length)]!;
    const small = (max: number): bigint => BigInt(Math.floor(r() * max));
    switch (kind) {
      case EventKind.RequestStart:
        out.push({ ...h, kind, method: r() < 0.8 ? 'GET' : 'POST', path: PATHS[Math.floor(r() * PATHS.length)]! });
        break;
      case EventKind.RequestEnd:
        out.push({ ...h, kind, status: 200, durationUs: small(50_000) });
        break;
      case EventKind.DbQueryStart:
        out.push({ ...h, kind, query: `/*request_id='${h.requestId}',traceparent='00-${h.requestId}-563740d6e1aba430-01'*/ ${SQL[Math.floor(r() * SQL.length)]!}` });
        break;
      case EventKind.DbQueryEnd:
        out.push({ ...h, kind, durationUs: small(20_000), rows: small(50) });
        break;
      case EventKind.CacheHit:
      case EventKind.CacheMiss:
        out.push({ ...h, kind, key: `user:${Math.floor(r() * 100)}` });
        break;
      case EventKind.FileOpen:
        out.push({ ...h, kind, path: '/var/lib/reqtrace-lab/app/config.json' });
        break;
      case EventKind.FileClose:
        out.push({ ...h, kind });
        break;
      case EventKind.SockRecv:
      case EventKind.SockSend:
        out.push({ ...h, kind, durationNs: small(20_000), bytes: small(4096), arrivalNs: kind === EventKind.SockRecv ? ts - small(100_000) : 0n, syscallNr: 45, syscalls: 1, tuple });
        break;
      case EventKind.FileRead:
      case EventKind.FileWrite:
        out.push({ ...h, kind, durationNs: small(20_000), bytes: small(8192), inode: 1_311_234n + small(8), syscallNr: 0 });
        break;
      case EventKind.SockAccept:
      case EventKind.SockConnect:
      case EventKind.SockClose:
        out.push({ ...h, kind, durationNs: small(20_000), ret: small(64), tuple });
        break;
      case EventKind.TcpRetransmit:
        out.push({ ...h, kind, state: 1, tuple });
        break;
      case EventKind.RunqDelay:
        out.push({ ...h, fd: -1, kind, delayNs: 100_000n + small(1_000_000) });
        break;
      case EventKind.ProcFork:
      case EventKind.ProcExit:
        out.push({ ...h, fd: -1, kind, childPid: pid + 100, comm: 'postgres' });
        break;
      case EventKind.PgPhase:
        out.push({ ...h, fd: -1, kind, phase: (1 + Math.floor(r() * 5)) as PgPhase, durationNs: small(1_000_000), detail0: 0n, detail1: 0n });
        break;
    }
  }
  return out;
}
