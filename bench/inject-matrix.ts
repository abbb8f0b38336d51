/**
 * The experiments of `lab bench inject`: one fault per layer of the lab, each injected into
 * requests the harness chooses, with the amounts of the quick and the full matrix. Pure.
 */

/** The layers `--only` names, in the order the matrix runs them. */
export const INJECT_LAYERS = ['app', 'event-loop', 'db', 'lock', 'file', 'disk', 'cpu', 'net-delay', 'net-loss', 'pool'] as const;

export type InjectLayer = (typeof INJECT_LAYERS)[number];

/** What one experiment injects; amounts in ms unless named otherwise. */
export type Injection =
  /** `delay_ms`: the app sleeps before the handler. */
  | { readonly layer: 'app'; readonly delayMs: number }
  /** `cpu_ms` on one request (the blocker); `queued` requests sent `afterMs` later wait behind it. */
  | { readonly layer: 'event-loop'; readonly cpuMs: number; readonly queued: number; readonly afterMs: number }
  /** `db_delay_ms`: pg_sleep inside the request's first statement. */
  | { readonly layer: 'db'; readonly sleepMs: number }
  /** Another session holds the row the order's UPDATE needs, for `holdMs` once the UPDATE waits for it. */
  | { readonly layer: 'lock'; readonly holdMs: number }
  /** `io_kb`: a scratch file written and read back. */
  | { readonly layer: 'file'; readonly kb: number }
  /** PostgreSQL's writes throttled to `writeIops` on its disk: the commit's WAL flush waits. */
  | { readonly layer: 'disk'; readonly writeIops: number }
  /** A real-time busy loop on the app's CPU for `spinMs` while the app computes. */
  | { readonly layer: 'cpu'; readonly spinMs: number }
  /** Every packet from the app to PostgreSQL held `delayMs`. */
  | { readonly layer: 'net-delay'; readonly delayMs: number }
  /** The first transmission of every data segment from the app to PostgreSQL dropped. */
  | { readonly layer: 'net-loss' }
  /** `burst` requests, `staggerMs` apart, each holding a connection `holdMs`, on a pool of `poolSize`. */
  | { readonly layer: 'pool'; readonly poolSize: number; readonly burst: number; readonly holdMs: number; readonly staggerMs: number };

export interface Experiment {
  /** Unique within a run, e.g. `db 100ms`; names the capture folder too. */
  readonly name: string;
  readonly injection: Injection;
  /** Rounds of the injection: requests for most layers, blocked rounds for event-loop, bursts for pool. */
  readonly repeats: number;
  /** Normal requests of the same shape, sent around the injected ones. */
  readonly controls: number;
}

export interface MatrixOptions {
  readonly quick: boolean;
  /** Only these layers (default: all). */
  readonly only?: readonly InjectLayer[];
  /** Rounds per experiment (default 2 with quick, 5 without). */
  readonly repeats?: number;
}

/** The amounts of each layer: the quick matrix runs the first alone. */
const AMOUNTS: { readonly [L in InjectLayer]: readonly Extract<Injection, { layer: L }>[] } = {
  app: [{ layer: 'app', delayMs: 100 }, { layer: 'app', delayMs: 20 }, { layer: 'app', delayMs: 400 }],
  'event-loop': [
    { layer: 'event-loop', cpuMs: 200, queued: 3, afterMs: 50 },
    { layer: 'event-loop', cpuMs: 500, queued: 6, afterMs: 100 },
  ],
  db: [{ layer: 'db', sleepMs: 100 }, { layer: 'db', sleepMs: 20 }, { layer: 'db', sleepMs: 400 }],
  // PostgreSQL logs the durations the lock and disk verdicts read from 100 ms up.
  lock: [{ layer: 'lock', holdMs: 150 }, { layer: 'lock', holdMs: 400 }],
  file: [{ layer: 'file', kb: 10240 }, { layer: 'file', kb: 2048 }],
  disk: [{ layer: 'disk', writeIops: 10 }, { layer: 'disk', writeIops: 4 }],
  cpu: [{ layer: 'cpu', spinMs: 100 }, { layer: 'cpu', spinMs: 30 }, { layer: 'cpu', spinMs: 300 }],
  'net-delay': [{ layer: 'net-delay', delayMs: 25 }, { layer: 'net-delay', delayMs: 5 }, { layer: 'net-delay', delayMs: 100 }],
  'net-loss': [{ layer: 'net-loss' }],
  pool: [
    { layer: 'pool', poolSize: 2, burst: 4, holdMs: 150, staggerMs: 10 },
    { layer: 'pool', poolSize: 3, burst: 9, holdMs: 100, staggerMs: 5 },
  ],
};

const CONTROLS = { quick: 6, full: 12 } as const;
const REPEATS = { quick: 2, full: 5 } as const;

/** One line naming what an injection does, with its amount (`pg_sleep 100 ms in the first statement`). */
export function describeInjection(i: Injection): string {
  switch (i.layer) {
    case 'app':
      return `delay_ms=${i.delayMs}: the app sleeps ${i.delayMs} ms before the handler`;
    case 'event-loop':
      return `cpu_ms=${i.cpuMs} blocks the event loop; ${i.queued} requests sent ${i.afterMs} ms later wait behind it`;
    case 'db':
      return `db_delay_ms=${i.sleepMs}: pg_sleep(${i.sleepMs / 1000}) in the first statement`;
    case 'lock':
      return `another session holds the product row the order's UPDATE needs, ${i.holdMs} ms from when the UPDATE waits`;
    case 'file':
      return `io_kb=${i.kb}: ${i.kb} KiB written to a scratch file and read back`;
    case 'disk':
      return `PostgreSQL's writes throttled to ${i.writeIops} IOPS: the commit waits for its WAL flush`;
    case 'cpu':
      return `a real-time busy loop takes the app's CPU for ${i.spinMs} ms while the app computes`;
    case 'net-delay':
      return `every packet from the app to PostgreSQL held ${i.delayMs} ms`;
    case 'net-loss':
      return 'the first transmission of every data segment from the app to PostgreSQL dropped';
    case 'pool':
      return `${i.burst} requests ${i.staggerMs} ms apart hold a DB connection ${i.holdMs} ms each on a pool of ${i.poolSize}`;
  }
}

/** A short amount for tables and file names (`100ms`, `4096KiB`, `10iops`, `once`). */
export function injectionAmount(i: Injection): string {
  switch (i.layer) {
    case 'app':
      return `${i.delayMs}ms`;
    case 'event-loop':
      return `${i.cpuMs}ms`;
    case 'db':
      return `${i.sleepMs}ms`;
    case 'lock':
      return `${i.holdMs}ms`;
    case 'file':
      return `${i.kb}KiB`;
    case 'disk':
      return `${i.writeIops}iops`;
    case 'cpu':
      return `${i.spinMs}ms`;
    case 'net-delay':
      return `${i.delayMs}ms`;
    case 'net-loss':
      return 'once';
    case 'pool':
      return `pool${i.poolSize}x${i.burst}`;
  }
}

/** Reads `--only app,db,…`: the layers in matrix order, or a one-line error naming the unknown one. */
export function parseLayers(text: string): InjectLayer[] | string {
  const names = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0) return `--only expects layers from ${INJECT_LAYERS.join(', ')}`;
  for (const n of names) {
    if (!(INJECT_LAYERS as readonly string[]).includes(n)) return `--only: unknown layer '${n}' (layers: ${INJECT_LAYERS.join(', ')})`;
  }
  return INJECT_LAYERS.filter((l) => names.includes(l));
}

/** The experiments to run, in matrix order: one per layer with `quick`, every amount without. */
export function injectMatrix(opts: MatrixOptions): Experiment[] {
  const layers = opts.only ?? INJECT_LAYERS;
  const repeats = opts.repeats ?? (opts.quick ? REPEATS.quick : REPEATS.full);
  const controls = opts.quick ? CONTROLS.quick : CONTROLS.full;
  return INJECT_LAYERS.filter((l) => layers.includes(l)).flatMap((layer) => {
    const amounts: readonly Injection[] = AMOUNTS[layer];
    return (opts.quick ? amounts.slice(0, 1) : amounts).map((injection) => ({
      name: `${layer} ${injectionAmount(injection)}`,
      injection,
      repeats,
      controls,
    }));
  });
}
