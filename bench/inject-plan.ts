/**
 * The requests of one experiment, each with the id the harness gives it, its role, the normal
 * requests it is compared with, and — for the injected ones — where its trace should put the
 * injected time, how much, within what tolerance, and which `lab analyze` finding should name
 * it. Pure: the runner sends what this plans.
 *
 *   phase    before                fault (one round at a time)                    after
 *   sent     controls, one by one  injected requests (+ the layer's action),      controls, one by one
 *                                  a control beside each where the fault is the
 *                                  request's own
 */
import { createHash } from 'node:crypto';
import type { FindingKind } from '../analysis/finding.ts';
import { HOT_USERS, PRODUCT_IDS, USER_IDS } from '../lab/load/mixes.ts';
import type { LocationKey } from './inject-locations.ts';
import type { Experiment, Injection } from './inject-matrix.ts';

/**
 * What a request is in its experiment: a normal one (`control`), one the fault is injected into,
 * the blocker of the event loop and the requests queued behind it, the first wave of a pool burst
 * (it gets connections) and the rest (it waits for one); warm-up requests are not judged.
 */
export type Role = 'control' | 'injected' | 'blocker' | 'queued' | 'first-wave' | 'waiting' | 'warm-up';

export type Phase = 'before' | 'fault' | 'after';

/** A finding that names the fault: its kind, and for span findings the span's name (and that name in words). */
export interface ExpectedFinding {
  readonly kind: FindingKind;
  readonly span?: RegExp;
  readonly on?: string;
}

/**
 * Where the expected amount comes from, when it is not the injected amount itself:
 *   trace-total   the request's extra time in its own trace (its root over the controls')
 *   pg-log        PostgreSQL's own logged duration of the request's `statement` (≥ 100 ms)
 *   schedstat     the kernel's count of the app thread's run-queue time during the request
 *   blocker-loop  what was left of the blocker's loop when the request arrived: the blocker's
 *                 handler setup start + `loopMs`, less this request's arrival in the app's socket
 *   pool-handoff  how long the pool had no connection for the request: in the order the app began
 *                 on them, each request of its burst takes the connection that comes free first —
 *                 when its holder's last DB query ends (their traces) — from a pool of `poolSize`
 * With pg-log and schedstat the location is compared as it is (those count all of it), with the
 * others by its growth over the controls.
 */
export type AmountBasis = 'trace-total' | 'pg-log' | 'schedstat' | 'blocker-loop' | 'pool-handoff';

export interface Expectation {
  readonly location: LocationKey;
  /** ms the location gains over the controls, or where that amount is read from. */
  readonly amountMs: number | AmountBasis;
  /** pg-log: the statement's first keyword. */
  readonly statement?: string;
  /** blocker-loop: the blocker's busy loop, ms. */
  readonly loopMs?: number;
  /** pool-handoff: the pool's size. */
  readonly poolSize?: number;
  /** The least the location must hold, ms: the injected part of an amount read from elsewhere. */
  readonly atLeastMs?: number;
  readonly tolerance: { readonly absMs: number; readonly rel: number };
  /** Any one of these on the request counts as the right detector. */
  readonly findings: readonly ExpectedFinding[];
  /** TCP retransmits the trace must show on it, at least. */
  readonly retransmits?: number;
  /** Bytes its file spans must show written and read back. */
  readonly fileBytes?: number;
}

export interface PlannedRequest {
  /** 32 lowercase hex: the request id the harness sends as X-Request-ID. */
  readonly id: string;
  readonly role: Role;
  /** The controls it is compared with share this key. */
  readonly group: string;
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly body?: string;
  readonly phase: Phase;
  /** Injected rounds, from 0; controls carry -1. */
  readonly round: number;
  /** For pool bursts: ms after the burst's first request it is sent. */
  readonly offsetMs: number;
  readonly expect?: Expectation;
}

/** The lock experiment's row: a product the default mix draws too, but never while it is held. */
export const LOCKED_PRODUCT = PRODUCT_IDS;
/** GET /api/users runs this many statements (the list, then the count). */
export const USERS_STATEMENTS = 2;
/** Linux's minimum retransmission timeout (TCP_RTO_MIN), ms. */
export const RTO_MIN_MS = 200;
/** The cpu experiment's request computes this long beyond the competitor's loop, ms: time to see it busy, and a tail. */
export const CPU_MARGIN_MS = 120;

const tol = (absMs: number, rel: number): Expectation['tolerance'] => ({ absMs, rel });

/**
 * When each request of a pool burst gets its connection: request i is sent at i × stagger and
 * takes the first connection to come free (FIFO), holding it `holdMs`. Returns each one's wait, ms.
 */
export function poolWaits(poolSize: number, burst: number, holdMs: number, staggerMs: number): number[] {
  const freeAt = Array.from({ length: poolSize }, () => 0);
  return Array.from({ length: burst }, (_, i) => {
    const sent = i * staggerMs;
    const slot = freeAt.indexOf(Math.min(...freeAt));
    const start = Math.max(sent, freeAt[slot] as number);
    freeAt[slot] = start + holdMs;
    return start - sent;
  });
}

/** Deterministic ids: one experiment of one run never repeats an id, runs differ by `nonce`. */
export function requestId(nonce: string, experiment: string, role: Role, i: number): string {
  return createHash('sha256').update(`inject ${nonce} ${experiment} ${role} ${i}`).digest('hex').slice(0, 32);
}

/** A seeded stream of distinct user ids outside the load's hot set (so never in the app's cache). */
function coldUsers(nonce: string, experiment: string): () => number {
  const used = new Set<number>();
  let n = 0;
  return () => {
    for (;;) {
      const h = createHash('sha256').update(`cold ${nonce} ${experiment} ${n++}`).digest();
      const id = HOT_USERS + 1 + (h.readUInt32BE(0) % (USER_IDS - HOT_USERS));
      if (!used.has(id)) {
        used.add(id);
        return id;
      }
    }
  };
}

interface Shape {
  readonly group: string;
  readonly method: 'GET' | 'POST';
  /** The path of request `i`; `injected` adds the fault's knob. */
  readonly path: (i: number, injected: boolean) => string;
  readonly body?: (i: number, injected: boolean) => string;
}

function orderBody(nonce: string, experiment: string): (i: number, injected: boolean) => string {
  return (i, injected) => {
    const h = createHash('sha256').update(`order ${nonce} ${experiment} ${i} ${injected}`).digest();
    const product = injected ? LOCKED_PRODUCT : 1 + (h.readUInt32BE(4) % (PRODUCT_IDS - 1));
    return JSON.stringify({ user_id: 1 + (h.readUInt32BE(0) % USER_IDS), product_id: product, quantity: 1 });
  };
}

function shapeOf(i: Injection, nonce: string, experiment: string): Shape {
  const users = (knob: string): Shape => ({ group: 'GET /api/users', method: 'GET', path: (_n, inj) => (inj ? `/api/users?${knob}` : '/api/users') });
  const cold = coldUsers(nonce, experiment);
  switch (i.layer) {
    case 'app':
      return users(`delay_ms=${i.delayMs}`);
    case 'event-loop':
      return users(`cpu_ms=${i.cpuMs}`);
    case 'db':
      return users(`db_delay_ms=${i.sleepMs}`);
    case 'file':
      return users(`io_kb=${i.kb}`);
    case 'net-delay':
      return users('');
    case 'lock':
    case 'disk':
      return { group: 'POST /api/orders', method: 'POST', path: () => '/api/orders', body: orderBody(nonce, experiment) };
    case 'cpu':
      return { group: 'GET /healthz', method: 'GET', path: (_n, inj) => (inj ? `/healthz?cpu_ms=${i.spinMs + CPU_MARGIN_MS}` : '/healthz') };
    case 'net-loss':
      return { group: 'GET /api/users/:id (not cached)', method: 'GET', path: () => `/api/users/${cold()}` };
    case 'pool':
      return { group: 'GET /api/users/:id (not cached)', method: 'GET', path: (_n, inj) => `/api/users/${cold()}${inj ? `?db_delay_ms=${i.holdMs}` : ''}` };
  }
}

/** What the trace of one injected request of `i` should show (`index`: its place in a burst or round). */
export function expectationOf(i: Injection, role: Role, index = 0): Expectation {
  switch (i.layer) {
    case 'app':
      return { location: 'handler-setup', amountMs: i.delayMs, tolerance: tol(5, 0.1), findings: [{ kind: 'slow-span', span: /^handler setup$/, on: 'handler setup' }] };
    case 'event-loop':
      return role === 'blocker'
        ? { location: 'handler-setup', amountMs: i.cpuMs, tolerance: tol(5, 0.1), findings: [{ kind: 'slow-span', span: /^handler setup$/, on: 'handler setup' }] }
        : // How long a queued request waits depends on when it arrives in the blocker's loop,
          // which the client's timers on a busy machine do not fix to the ms (about cpuMs − afterMs).
          // Once the loop is free the app reads the queued requests in turn, each after the
          // previous one's synchronous handling: a few ms more for the later ones.
          { location: 'socket-wait-to-app', amountMs: 'blocker-loop', loopMs: i.cpuMs, tolerance: tol(20, 0.1), findings: [{ kind: 'socket-buffer-wait' }] };
    case 'db':
      return { location: 'db-execute', amountMs: i.sleepMs, tolerance: tol(5, 0.1), findings: [{ kind: 'slow-span', span: /^DB query 1 \(/, on: 'DB query 1' }] };
    case 'lock':
      // Released holdMs after PostgreSQL lists the UPDATE as waiting; how soon the harness sees
      // that depends on the machine, so PostgreSQL's own timing of the UPDATE is the measure.
      return { location: 'lock-wait', amountMs: 'pg-log', statement: 'UPDATE', atLeastMs: i.holdMs, tolerance: tol(5, 0.1), findings: [{ kind: 'lock-wait' }] };
    case 'file':
      return {
        location: 'file-io',
        amountMs: 'trace-total',
        // The span runs from the file_open probe to the file_close probe: creating the scratch
        // file before it and unlinking it (its pages freed) after it are app time around it, 10–30%
        // of the request's extra time; and one request's extra time on a shared machine also
        // carries its hiccups (a run-queue wait, a collection), 15–20 ms at times here.
        tolerance: tol(20, 0.35),
        findings: [{ kind: 'slow-request' }, { kind: 'slow-span', span: /^file/, on: 'the file' }],
        fileBytes: i.kb * 1024,
      };
    case 'disk':
      // How long a throttled flush takes is up to the throttle: PostgreSQL's own timing of the COMMIT says.
      return { location: 'commit', amountMs: 'pg-log', statement: 'COMMIT', tolerance: tol(5, 0.1), findings: [{ kind: 'slow-span', span: /\(COMMIT\)$/, on: 'the COMMIT' }] };
    case 'cpu':
      // The busy app thread also waits behind whatever else runs on its CPU: the kernel's count
      // of its run-queue time is the whole truth, the injected spin the part it must include.
      // That count also holds waits shorter than the scheduler family records (100 µs) and
      // those just before the request's first read.
      return { location: 'app-runq', amountMs: 'schedstat', atLeastMs: i.spinMs, tolerance: tol(10, 0.1), findings: [{ kind: 'runqueue-delay' }] };
    case 'net-delay':
      // Beside the held packets, the backend's wakeups on a busy machine are in that time too.
      return { location: 'pg-transit', amountMs: USERS_STATEMENTS * i.delayMs, tolerance: tol(10, 0.15), findings: [{ kind: 'slow-span', span: /^DB query \d+ \(/, on: 'a DB query' }] };
    case 'net-loss':
      return { location: 'pg-retransmit', amountMs: RTO_MIN_MS, tolerance: tol(50, 0.1), findings: [{ kind: 'tcp-retransmit' }], retransmits: 1 };
    case 'pool': {
      const wait = poolWaits(i.poolSize, i.burst, i.holdMs, i.staggerMs)[index] ?? 0;
      return {
        location: 'pool-wait',
        // A connection comes back some ms after its holder's pg_sleep (the result, the release),
        // more on a busy machine, and later waves wait for those that waited: the holders'
        // traces say when.
        amountMs: 'pool-handoff',
        poolSize: i.poolSize,
        tolerance: tol(10, 0.1),
        // The first wave holds its connections in pg_sleep: its DB query is what is slow.
        findings: wait > 0 ? [{ kind: 'slow-span', span: /^(pool wait|handler setup)$/, on: 'pool wait or handler setup' }] : [{ kind: 'slow-span', span: /^DB query 1 \(/, on: 'DB query 1' }],
      };
    }
  }
}

/**
 * Layers whose fault touches only the request it is injected into: a control is sent beside
 * each injected one, at the same time. The others slow whatever crosses the tier meanwhile.
 */
const PER_REQUEST: ReadonlySet<Injection['layer']> = new Set(['app', 'db', 'lock', 'file']);

/** Every request of `e`, in the order the runner sends them within each phase. */
export function planExperiment(e: Experiment, nonce: string): PlannedRequest[] {
  const i = e.injection;
  const shape = shapeOf(i, nonce, e.name);
  const out: PlannedRequest[] = [];
  let n = 0;
  const add = (role: Role, phase: Phase, round: number, injected: boolean, offsetMs = 0, expect?: Expectation): void => {
    const k = n++;
    out.push({
      id: requestId(nonce, e.name, role, k),
      role,
      group: shape.group,
      method: shape.method,
      path: shape.path(k, injected),
      ...(shape.body ? { body: shape.body(k, injected) } : {}),
      phase,
      round,
      offsetMs,
      ...(expect ? { expect } : {}),
    });
  };
  const beside = PER_REQUEST.has(i.layer) ? Math.min(e.repeats, Math.floor(e.controls / 3)) : 0;
  const before = Math.ceil((e.controls - beside) / 2);
  for (let c = 0; c < before; c++) add('control', 'before', -1, false);
  for (let r = 0; r < e.repeats; r++) {
    if (i.layer === 'event-loop') {
      add('blocker', 'fault', r, true, 0, expectationOf(i, 'blocker'));
      for (let q = 0; q < i.queued; q++) add('queued', 'fault', r, false, i.afterMs, expectationOf(i, 'queued'));
    } else if (i.layer === 'pool') {
      const waits = poolWaits(i.poolSize, i.burst, i.holdMs, i.staggerMs);
      for (let b = 0; b < i.burst; b++) add((waits[b] ?? 0) > 0 ? 'waiting' : 'first-wave', 'fault', r, true, b * i.staggerMs, expectationOf(i, 'waiting', b));
    } else {
      add('injected', 'fault', r, true, 0, expectationOf(i, 'injected'));
      if (r < beside) add('control', 'fault', r, false);
    }
  }
  for (let c = before + beside; c < e.controls; c++) add('control', 'after', -1, false);
  return out;
}
