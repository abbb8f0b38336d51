/**
 * Head sampling in the app's probes. While `lab trace --sample RATE` runs, the kernel follows only
 * the requests whose id passes shared/sampling.ts `isSampled`; the rest would fire every probe for
 * nothing (a breakpoint trap and a program run each). So the tracer writes the rate into the state
 * directory (`probe-sampling.json`), and the app, which checks it once a second while its probes
 * are attached, fires no probe at all for a request outside the sample: the decision is made once,
 * where the id is first known, by the same rule the kernel applies. With tail keeping every request
 * is followed (the loader decides at its end). Without the file, or once its tracer has gone, every
 * request fires its probes, as before. The app answers with `probe-sampling.seen` once it applies a
 * rate, so the tracer can wait for it before a load begins.
 */
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isSampled } from '../../shared/sampling.ts';

export const PROBE_SAMPLING_FILE = 'probe-sampling.json';
export const PROBE_SAMPLING_SEEN_FILE = 'probe-sampling.seen';

export interface ProbeSampling {
  /** The head-sampling rate, 0 < sample ≤ 1. */
  readonly sample: number;
  /** Tail keeping: every request is followed, whatever the rate. */
  readonly followAll: boolean;
  /** The loader the rate belongs to: the file counts only while it runs. */
  readonly loaderPid: number;
}

/** Reads the file's text; null when it is not a valid one. Pure. */
export function parseProbeSampling(text: string): ProbeSampling | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  const o = v as Partial<Record<keyof ProbeSampling, unknown>> | null;
  if (!o || typeof o.sample !== 'number' || !(o.sample > 0 && o.sample <= 1)) return null;
  if (typeof o.followAll !== 'boolean' || typeof o.loaderPid !== 'number' || !Number.isInteger(o.loaderPid) || o.loaderPid <= 0) return null;
  return { sample: o.sample, followAll: o.followAll, loaderPid: o.loaderPid };
}

/** Which requests fire their probes under `s` (every one without it, or when its loader is gone). Pure. */
export function probeFilter(s: ProbeSampling | null, loaderAlive: (pid: number) => boolean): (requestId: string) => boolean {
  if (!s || s.followAll || s.sample >= 1 || !loaderAlive(s.loaderPid)) return () => true;
  const rate = s.sample;
  return (id) => isSampled(id, rate);
}

/** Written by the tracer once its loader runs (atomically: the app may read it at any time). */
export function writeProbeSampling(stateDir: string, s: ProbeSampling): void {
  const path = join(stateDir, PROBE_SAMPLING_FILE);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(s)}\n`);
  renameSync(`${path}.tmp`, path);
}

export function clearProbeSampling(stateDir: string): void {
  rmSync(join(stateDir, PROBE_SAMPLING_FILE), { force: true });
  rmSync(join(stateDir, PROBE_SAMPLING_SEEN_FILE), { force: true });
}

/** Written by the app when it applies `s` (best effort: a state directory it cannot write only costs the tracer its wait). */
function writeSeen(stateDir: string, s: ProbeSampling): void {
  const path = join(stateDir, PROBE_SAMPLING_SEEN_FILE);
  try {
    writeFileSync(`${path}.tmp`, `${JSON.stringify(s)}\n`);
    renameSync(`${path}.tmp`, path);
  } catch {
    /* the tracer says it could not confirm the rate */
  }
}

/** Whether the app has applied exactly `s`. */
export function probeSamplingSeen(stateDir: string, s: ProbeSampling): boolean {
  let seen: ProbeSampling | null;
  try {
    seen = parseProbeSampling(readFileSync(join(stateDir, PROBE_SAMPLING_SEEN_FILE), 'utf8'));
  } catch {
    return false;
  }
  return seen !== null && seen.sample === s.sample && seen.followAll === s.followAll && seen.loaderPid === s.loaderPid;
}

/** Waits until the app has applied `s` (it looks once a second); false after `timeoutMs`. */
export async function waitProbeSamplingSeen(stateDir: string, s: ProbeSampling, timeoutMs = 3000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (probeSamplingSeen(stateDir, s)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface ProbeSamplingWatch {
  /** Whether the request with this id fires its probes now. */
  follows(requestId: string): boolean;
  stop(): void;
}

/**
 * Follows the file while the probes are attached (`attached()`, the semaphore check): once a
 * second it looks at the file's mtime and its loader; while nothing is attached it forgets it.
 */
export function watchProbeSampling(stateDir: string, attached: () => boolean, intervalMs = 1000): ProbeSamplingWatch {
  const path = join(stateDir, PROBE_SAMPLING_FILE);
  let follows: (id: string) => boolean = () => true;
  let seen: { mtimeMs: number; s: ProbeSampling | null } | null = null;
  const check = (): void => {
    if (!attached()) {
      seen = null;
      follows = () => true;
      return;
    }
    let mtimeMs: number;
    try {
      mtimeMs = statSync(path).mtimeMs;
    } catch {
      seen = null;
      follows = () => true;
      return;
    }
    if (seen?.mtimeMs !== mtimeMs) {
      let s: ProbeSampling | null = null;
      try {
        s = parseProbeSampling(readFileSync(path, 'utf8'));
      } catch {
        s = null;
      }
      seen = { mtimeMs, s };
      if (s) writeSeen(stateDir, s);
    }
    follows = probeFilter(seen.s, processAlive);
  };
  const timer = setInterval(check, intervalMs);
  timer.unref();
  check();
  return {
    follows: (id) => follows(id),
    stop: () => clearInterval(timer),
  };
}
