/**
 * A whole lab for end-to-end tests: PostgreSQL, the app and a proxy on the ports from
 * `portBase`, in a state directory of their own.
 *
 *   const lab = await startLab({ portBase: 21100 });
 *   afterAll(() => lab.stop());
 *   const res = await fetch(lab.url('/api/users'));
 */
import type { PostgresKind, ProbeMode, ProxyKind } from '../shared/modes.ts';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labConfig, type LabConfig } from '../lab/config.ts';
import { labDown } from '../lab/lifecycle/lab-down.ts';
import { labUp } from '../lab/lifecycle/lab-up.ts';
import { isAlive } from '../lab/lifecycle/processes.ts';
import { runCli, type CliOptions, type CliRun } from './run-cli.ts';

export interface StartLabOptions {
  /** Proxy port; the app takes portBase + 1, PostgreSQL portBase + 2. */
  readonly portBase: number;
  /** Default: `<tmpdir>/reqtrace-lab-<portBase>`. */
  readonly stateDir?: string;
  readonly proxy?: ProxyKind;
  readonly usdt?: ProbeMode;
  /** PostgreSQL server (lab up --postgres); default as `lab up`. */
  readonly postgres?: PostgresKind;
}

export interface RunningLab {
  readonly config: LabConfig;
  readonly pids: { readonly proxy: readonly number[]; readonly app: number; readonly postgres: number };
  /** `http://127.0.0.1:<proxyPort><path>`. */
  url(path: string): string;
  /** Stops every tier; safe to call more than once and after a failed test. */
  stop(): Promise<void>;
}

/**
 * A test's port base moved by LAB_TEST_PORT_OFFSET (default 0), so two checkouts can run their
 * end-to-end tests side by side; each test derives its state directory from the result.
 */
export function testPortBase(base: number, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.LAB_TEST_PORT_OFFSET ?? '0';
  const offset = Number(raw);
  if (!Number.isInteger(offset) || offset < 0 || offset > 20_000 || base + offset > 65_530) {
    throw new Error(`LAB_TEST_PORT_OFFSET must be a whole number from 0 to 20000 that keeps ports below 65530, got '${raw}'`);
  }
  return base + offset;
}

const running = new Set<RunningLab>();

// Last resort when a test process exits without calling stop(): signal what we started.
process.once('exit', () => {
  for (const lab of running) {
    const { proxy, app, postgres } = lab.pids;
    for (const pid of [...proxy, app]) {
      try {
        if (isAlive(pid)) process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    try {
      // SIGINT is PostgreSQL's fast shutdown.
      if (isAlive(postgres)) process.kill(postgres, 'SIGINT');
    } catch {
      // already gone
    }
  }
});

/** Brings a lab up (reusing one already running in the same state dir) and returns its handle. */
export async function startLab(opts: StartLabOptions): Promise<RunningLab> {
  const stateDir = opts.stateDir ?? join(tmpdir(), `reqtrace-lab-${opts.portBase}`);
  mkdirSync(stateDir, { recursive: true });
  const config = labConfig({ LAB_PORT_BASE: String(opts.portBase), LAB_STATE_DIR: stateDir });
  let status;
  try {
    status = await labUp(config, { proxy: opts.proxy, usdt: opts.usdt, postgres: opts.postgres });
  } catch (err) {
    // Leave nothing behind from a half-started lab.
    await labDown(config).catch(() => undefined);
    throw err;
  }
  const { proxy, app, postgres } = status;
  if (proxy.pid === null || app.pid === null || postgres.pid === null) {
    await labDown(config).catch(() => undefined);
    throw new Error(`lab did not come up: ${JSON.stringify(status)}`);
  }
  let stopping: Promise<void> | null = null;
  const lab: RunningLab = {
    config,
    pids: { proxy: [proxy.pid, ...proxy.workers], app: app.pid, postgres: postgres.pid },
    url: (path) => `http://${config.host}:${config.proxyPort}${path.startsWith('/') ? path : `/${path}`}`,
    stop: () => {
      stopping ??= labDown(config).then(
        () => {
          running.delete(lab);
        },
        (err: unknown) => {
          // A failed stop may be retried.
          stopping = null;
          throw err;
        },
      );
      return stopping;
    },
  };
  running.add(lab);
  return lab;
}

/** What one `lab` CLI run printed, and how it ended. */
export type { CliRun } from './run-cli.ts';

/**
 * Runs `lab <args>` (cli/lab.mjs, as a user would) against the lab whose proxy port and state
 * dir are given; the options are runCli's.
 */
export function runLabCli(lab: { readonly config: Pick<LabConfig, 'proxyPort' | 'stateDir'> }, args: readonly string[], opts: CliOptions = {}): Promise<CliRun> {
  return runCli(args, {
    ...opts,
    env: { LAB_PORT_BASE: String(lab.config.proxyPort), LAB_STATE_DIR: lab.config.stateDir, ...(opts.user ? { HOME: tmpdir() } : {}), ...opts.env },
  });
}
